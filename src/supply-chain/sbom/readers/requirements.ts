/**
 * pip's requirements files. Only `name==version` (or `===`) pins a version; anything else is a
 * problem, since the SBOM cannot say what pip will pick. `--hash` options become hashes, `-r`
 * includes are reported for the caller to read, and pip-compile's `# via` annotations say which
 * packages are the project's own choices and which came in through others.
 */
import { hexHash, uniqueHashes } from '../hashes.js';
import type { Edge, EdgeKind, Hash, LockedPackage, LockfileGraph, Problem, Scope } from '../model.js';
import { pep503Name } from '../purl.js';
import { pythonPackage } from './python-common.js';

export interface RequirementsReadOptions {
  file: string;
  /** `excluded` for development-only files (requirements-dev.txt); `required` otherwise. */
  scope: Scope;
}

export interface RequirementsReading extends LockfileGraph {
  /** `-r` includes, relative to this file's folder, in order. */
  includes: Array<{ path: string; line: number }>;
}

/** Options that take a value and change nothing the SBOM records. */
const VALUE_OPTIONS = new Set(['-i', '--index-url', '--extra-index-url', '-f', '--find-links', '--trusted-host', '--no-binary', '--only-binary', '--use-feature', '-c', '--constraint', '--config-settings', '--global-option']);

interface Requirement {
  name: string;
  version: string;
  line: number;
  hashes: Hash[];
  via: string[];
}

export function readRequirements(text: string, options: RequirementsReadOptions): RequirementsReading {
  const { file } = options;
  const problems: Problem[] = [];
  const includes: RequirementsReading['includes'] = [];
  const requirements = new Map<string, Requirement>();
  let last: Requirement | undefined;
  let viaOpen = false;

  for (const { text: logical, line, comment } of logicalLines(text)) {
    if (logical === '') {
      // pip-compile's annotations: `# via x`, or `# via` with one name per following comment line.
      if (comment !== undefined && last) {
        const via = /^via\b\s*(.*)$/.exec(comment.trim());
        if (via) {
          viaOpen = via[1] === '';
          if (!viaOpen) last.via.push(...splitVia(via[1]!));
        } else if (viaOpen && /^\s{2,}\S/.test(comment)) last.via.push(...splitVia(comment.trim()));
        else viaOpen = false;
      }
      continue;
    }
    viaOpen = false;
    last = undefined;
    const words = logical.split(/\s+/);
    const first = words[0]!;
    if (first === '-r' || first === '--requirement' || first.startsWith('--requirement=') || (first.startsWith('-r') && first.length > 2)) {
      const path = first === '-r' || first === '--requirement' ? words[1] : first.startsWith('--requirement=') ? first.slice('--requirement='.length) : first.slice(2);
      if (path) includes.push({ path, line });
      continue;
    }
    if (first === '-e' || first === '--editable' || first.startsWith('--editable=')) {
      const target = first === '-e' || first === '--editable' ? (words[1] ?? '') : first.slice('--editable='.length);
      // `-e .` is the project itself; anything else is a checkout whose version is not pinned.
      if (!/^\.\/?$/.test(target)) problems.push({ file, line, message: `installs "${target}" in editable mode, which pins no version; it is not in the SBOM` });
      continue;
    }
    if (first.startsWith('-')) {
      if (VALUE_OPTIONS.has(first)) continue;
      if (first.startsWith('--') || first.length === 2) continue;
    }
    const requirement = parseRequirement(logical, line);
    if ('problem' in requirement) {
      problems.push({ file, line, message: requirement.problem });
      continue;
    }
    const key = pep503Name(requirement.name);
    const earlier = requirements.get(key);
    if (earlier) {
      if (earlier.version !== requirement.version) problems.push({ file, line, message: `pins ${requirement.name} to ${requirement.version}, but line ${earlier.line} pins it to ${earlier.version}` });
      earlier.hashes = uniqueHashes([...earlier.hashes, ...requirement.hashes]);
      last = earlier;
      continue;
    }
    requirements.set(key, requirement);
    last = requirement;
  }

  const packages: LockedPackage[] = [...requirements.entries()].map(([key, requirement]) =>
    pythonPackage({ key, name: requirement.name, version: requirement.version, hashes: requirement.hashes }),
  );
  const kind: EdgeKind = options.scope === 'excluded' ? 'dev' : options.scope === 'optional' ? 'optional' : 'required';
  const annotated = [...requirements.values()].some((requirement) => requirement.via.length > 0);
  const roots: Edge[] = [];
  for (const [key, requirement] of requirements) {
    // Without annotations every line is the project's own choice.
    const direct = !annotated || requirement.via.length === 0 || requirement.via.some((via) => via.startsWith('-r') || via.startsWith('-c') || via.endsWith('.in') || via.endsWith('.txt') || via.endsWith('.toml'));
    if (direct) roots.push({ to: key, kind });
    for (const parent of requirement.via) {
      const from = packages.find((pkg) => pkg.key === pep503Name(parent.replace(/\[.*$/, '')));
      if (from && from.key !== key) from.dependencies.push({ to: key, kind: 'required' });
    }
  }
  // Every pinned line is installed, whoever asked for it.
  const unplaced = packages.map((pkg) => ({ key: pkg.key, scope: options.scope }));
  return { packages, roots, unplaced, dependenciesKnown: annotated, problems, includes };
}

/** Physical lines joined at trailing backslashes, comments split off, with the line each starts on. */
function* logicalLines(text: string): Generator<{ text: string; line: number; comment?: string }> {
  const rows = text.split('\n');
  for (let index = 0; index < rows.length; index += 1) {
    const line = index + 1;
    let joined = rows[index]!.replace(/\r$/, '');
    while (/(^|[^\\])\\$/.test(joined) && index + 1 < rows.length) {
      index += 1;
      joined = `${joined.slice(0, -1)} ${rows[index]!.replace(/\r$/, '')}`;
    }
    // pip: a comment starts at `#` at the line's start or after whitespace.
    const hash = /(^|\s)#/.exec(joined);
    const body = hash ? joined.slice(0, hash.index) : joined;
    const comment = hash ? joined.slice(hash.index + hash[0].length) : undefined;
    yield { text: body.trim(), line, ...(comment !== undefined ? { comment } : {}) };
  }
}

function splitVia(text: string): string[] {
  return text
    .split(/,\s*/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseRequirement(text: string, line: number): Requirement | { problem: string } {
  const hashes: Hash[] = [];
  let rest = text.replace(/--hash[=\s]+(\S+)/g, (_, value: string) => {
    const hash = hexHash(value);
    if (hash) hashes.push(hash);
    return ' ';
  });
  // Per-requirement install options are not part of what gets installed.
  rest = rest.replace(/\s--(global-option|install-option|config-settings)[=\s]+\S+/g, ' ').trim();
  const markerAt = rest.indexOf(';');
  const requirement = (markerAt === -1 ? rest : rest.slice(0, markerAt)).trim();
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/.exec(requirement);
  if (!match) return { problem: `"${requirement}" is not a requirement pip can read by name (a path or URL pins no version); it is not in the SBOM` };
  const name = match[1]!;
  const spec = match[3]!.trim();
  if (spec.startsWith('@')) return { problem: `${name} is installed from a URL (${spec.slice(1).trim()}), which pins no version; it is not in the SBOM` };
  const pin = /^(===?)\s*([^\s,*]+)$/.exec(spec);
  if (!pin) {
    return { problem: `${name}${spec === '' ? ' has no version' : ` is not pinned (${spec})`}: only == pins what pip installs; pin it (e.g. pip-compile or pip freeze) so the SBOM can name its version` };
  }
  return { name, version: pin[2]!, line, hashes: uniqueHashes(hashes), via: [] };
}
