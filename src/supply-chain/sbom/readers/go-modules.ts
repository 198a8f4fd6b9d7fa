/**
 * Go modules: go.mod names the module, the versions it requires (direct, or `// indirect`) and
 * replacements; go.sum holds each module version's hash. Since Go 1.17 go.mod lists every module
 * the build needs; before, the build list is completed from the modules whose source go.sum holds.
 * Neither file says which module needs which, so only the direct ones hang off the service.
 */
import { goH1Hash } from '../hashes.js';
import type { Edge, Hash, LockedPackage, LockfileGraph, Origin, Problem } from '../model.js';
import { golangPurl } from '../purl.js';

export interface GoReadOptions {
  goModFile: string;
  goSumFile: string;
}

export interface GoReading extends LockfileGraph {
  /** The `module` path of go.mod: the service itself. */
  module?: string;
}

interface Requirement {
  path: string;
  version: string;
  indirect: boolean;
  line: number;
}

interface Replacement {
  from: string;
  fromVersion?: string;
  to: string;
  toVersion?: string;
}

export interface GoMod {
  module?: string;
  go?: string;
  requires: Requirement[];
  replaces: Replacement[];
  problems: Problem[];
}

export function readGoModules(goMod: string | undefined, goSum: string | undefined, options: GoReadOptions): GoReading {
  const problems: Problem[] = [];
  const mod: GoMod = goMod === undefined ? { requires: [], replaces: [], problems: [] } : parseGoMod(goMod, options.goModFile);
  problems.push(...mod.problems);
  const sums = goSum === undefined ? new Map<string, Hash>() : parseGoSum(goSum, options.goSumFile, problems);
  if (goMod === undefined) problems.push({ file: options.goSumFile, message: 'has no go.mod beside it; the modules it lists are not tied to a build' });
  else if (goSum === undefined && mod.requires.length > 0) {
    problems.push({ file: options.goSumFile, message: 'is missing: go.mod requires modules but has no go.sum beside it, so they have no hashes; run `go mod tidy` and commit go.sum' });
  }

  const packages = new Map<string, LockedPackage>();
  const roots: Edge[] = [];
  const unplaced: GoReading['unplaced'] = [];
  const add = (path: string, version: string): string => {
    const replaced = replacementFor(mod.replaces, path, version);
    const local = replaced !== undefined && isLocalPath(replaced.to);
    const name = replaced && !local ? replaced.to : path;
    const finalVersion = replaced && !local ? (replaced.toVersion ?? version) : version;
    const key = `${name}@${finalVersion}`;
    if (!packages.has(key)) {
      const origin: Origin = local ? 'local' : 'registry';
      const hash = sums.get(key);
      packages.set(key, {
        key,
        ecosystem: 'Go',
        name,
        version: finalVersion,
        purl: golangPurl(name, finalVersion),
        origin,
        hashes: hash && !local ? [hash] : [],
        distributions: [],
        licenses: [],
        dependencies: [],
      });
    }
    return key;
  };

  const required = new Set<string>();
  for (const requirement of mod.requires) {
    required.add(requirement.path);
    const key = add(requirement.path, requirement.version);
    if (requirement.indirect) unplaced.push({ key, scope: 'required' });
    else roots.push({ to: key, kind: 'required' });
  }
  // Before 1.17 (pruned module graphs), go.mod may leave out what the build still downloads.
  if (goMod === undefined || !atLeast(mod.go, 1, 17)) {
    const newest = new Map<string, string>();
    for (const key of sums.keys()) {
      const at = key.lastIndexOf('@');
      const path = key.slice(0, at);
      const version = key.slice(at + 1);
      if (required.has(path) || path === mod.module) continue;
      const known = newest.get(path);
      if (known === undefined || compareGoVersions(version, known) > 0) newest.set(path, version);
    }
    for (const [path, version] of [...newest].sort()) unplaced.push({ key: add(path, version), scope: 'required' });
  }
  return {
    packages: [...packages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    roots,
    unplaced,
    dependenciesKnown: false,
    problems,
    ...(mod.module ? { module: mod.module } : {}),
  };
}

/** The directives the SBOM needs from go.mod; other directives are skipped, malformed lines reported. */
export function parseGoMod(text: string, file: string): GoMod {
  const result: GoMod = { requires: [], replaces: [], problems: [] };
  let block: string | undefined;
  const rows = text.split('\n');
  for (let index = 0; index < rows.length; index += 1) {
    const line = index + 1;
    const raw = rows[index]!.replace(/\r$/, '');
    const commentAt = raw.indexOf('//');
    const comment = commentAt === -1 ? '' : raw.slice(commentAt + 2).trim();
    const body = (commentAt === -1 ? raw : raw.slice(0, commentAt)).trim();
    if (body === '') continue;
    if (block !== undefined) {
      if (body === ')') {
        block = undefined;
        continue;
      }
      directive(block, tokens(body), comment, line);
      continue;
    }
    const words = tokens(body);
    const verb = words[0]!;
    if (words.length === 2 && words[1] === '(') {
      block = verb;
      continue;
    }
    directive(verb, words.slice(1), comment, line);
  }
  if (block !== undefined) result.problems.push({ file, line: rows.length, message: `has a "${block} (" block that is never closed` });
  return result;

  function directive(verb: string, args: string[], comment: string, line: number): void {
    if (verb === 'module') {
      if (args[0]) result.module = args[0];
    } else if (verb === 'go') {
      if (args[0]) result.go = args[0];
    } else if (verb === 'require') {
      if (args.length !== 2 || !args[1]!.startsWith('v')) {
        result.problems.push({ file, line, message: `has a require line that is not "module version": ${args.join(' ')}` });
        return;
      }
      result.requires.push({ path: args[0]!, version: args[1]!, indirect: /^indirect(;|$)/.test(comment), line });
    } else if (verb === 'replace') {
      const arrow = args.indexOf('=>');
      const left = args.slice(0, arrow);
      const right = args.slice(arrow + 1);
      if (arrow === -1 || left.length < 1 || left.length > 2 || right.length < 1 || right.length > 2) {
        result.problems.push({ file, line, message: `has a replace line that is not "module [version] => module version" or "=> ./folder": ${args.join(' ')}` });
        return;
      }
      result.replaces.push({ from: left[0]!, ...(left[1] ? { fromVersion: left[1] } : {}), to: right[0]!, ...(right[1] ? { toVersion: right[1] } : {}) });
    }
  }
}

/** `module version[/go.mod] h1:hash`: the hash of each module's source (not of its go.mod alone), by module@version. */
function parseGoSum(text: string, file: string, problems: Problem[]): Map<string, Hash> {
  const sums = new Map<string, Hash>();
  const rows = text.split('\n');
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!.trim();
    if (row === '') continue;
    const words = row.split(/\s+/);
    if (words.length !== 3) {
      problems.push({ file, line: index + 1, message: `is not "module version hash": ${row.slice(0, 120)}` });
      continue;
    }
    const [path, version, hashText] = words as [string, string, string];
    if (version.endsWith('/go.mod')) continue;
    const hash = goH1Hash(hashText);
    if (hash) sums.set(`${path}@${version}`, hash);
  }
  return sums;
}

function replacementFor(replaces: readonly Replacement[], path: string, version: string): Replacement | undefined {
  // A replacement of one version wins over one of every version.
  return replaces.find((r) => r.from === path && r.fromVersion === version) ?? replaces.find((r) => r.from === path && r.fromVersion === undefined);
}

function isLocalPath(target: string): boolean {
  return target.startsWith('./') || target.startsWith('../') || target.startsWith('/') || target === '.' || target === '..';
}

/** Words of a go.mod line; quoted ("..." or `...`) paths are unquoted. */
function tokens(body: string): string[] {
  const out: string[] = [];
  for (const match of body.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g)) out.push(match[1] ?? match[2] ?? match[3]!);
  return out;
}

function atLeast(goVersion: string | undefined, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(goVersion ?? '');
  if (!match) return false;
  return Number(match[1]) > major || (Number(match[1]) === major && Number(match[2]) >= minor);
}

/** Semantic version order for Go's `vMAJOR.MINOR.PATCH[-pre][+build]` (pseudo-versions are prereleases). */
export function compareGoVersions(a: string, b: string): number {
  const parse = (version: string): { core: number[]; pre: string[] } => {
    const bare = version.replace(/^v/, '').split('+')[0]!;
    const dash = bare.indexOf('-');
    const core = (dash === -1 ? bare : bare.slice(0, dash)).split('.').map((part) => Number(part) || 0);
    return { core, pre: dash === -1 ? [] : bare.slice(dash + 1).split('.') };
  };
  const left = parse(a);
  const right = parse(b);
  for (let index = 0; index < 3; index += 1) {
    const difference = (left.core[index] ?? 0) - (right.core[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  if (left.pre.length === 0 || right.pre.length === 0) return left.pre.length === right.pre.length ? 0 : left.pre.length === 0 ? 1 : -1;
  for (let index = 0; index < Math.max(left.pre.length, right.pre.length); index += 1) {
    const x = left.pre[index];
    const y = right.pre[index];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    if (numeric) return Math.sign(Number(x) - Number(y));
    if (/^\d+$/.test(x) !== /^\d+$/.test(y)) return /^\d+$/.test(x) ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
