import path from 'node:path';
import { detectFolder } from './folder.js';
import { dnsLabel, uniqueName } from './names.js';
import { detectNode, readPackageJson, type NodeWorkspace } from './node.js';
import { EMPTY_PACKAGE } from './node-package.js';
import { detectNodeToolchain } from './node-toolchain.js';
import { detectNxProject } from './nx.js';
import { fileIn, scopeAt, type Scope } from './read.js';
import type { DetectedService, Evidence, SkippedPackage } from './types.js';
import { expandWorkspaces, readWorkspaceLayout } from './workspaces.js';

export interface MonorepoResult {
  services: DetectedService[];
  skipped: SkippedPackage[];
  evidence: Evidence[];
}

interface Found {
  dir: string;
  service: Omit<DetectedService, 'name'>;
  /** Names other packages use for it (package name, Nx project name). */
  aliases: string[];
  /** Names of the packages it depends on. */
  wants: string[];
}

/** Folders conventionally holding deployable apps, checked even when no workspace glob lists them. */
const APP_FOLDERS = ['apps', 'services'];

/**
 * One service per deployable app of a JavaScript monorepo (npm/pnpm/yarn/bun workspaces, Turborepo,
 * Nx); libraries are skipped and dependencies between apps become depends_on. Undefined when the
 * folder is not a monorepo.
 */
export async function detectMonorepo(root: Scope): Promise<MonorepoResult | undefined> {
  const rootPkg = await readPackageJson(root);
  const layout = await readWorkspaceLayout(root, rootPkg);
  if (!layout) return undefined;
  const toolchain = await detectNodeToolchain([root], rootPkg ? [rootPkg] : []);
  const workspace: NodeWorkspace = {
    root,
    rootPkg: rootPkg ?? EMPTY_PACKAGE,
    ...(layout.tool ? { tool: layout.tool } : {}),
    toolchain,
  };

  const members = new Set(await expandWorkspaces(root, layout.patterns));
  for (const folder of APP_FOLDERS) {
    for (const entry of await root.tree.list(fileIn(root, folder))) {
      if (entry.kind === 'dir' && !entry.name.startsWith('.') && entry.name !== 'node_modules') members.add(`${folder}/${entry.name}`);
    }
  }

  const found: Found[] = [];
  const skipped: SkippedPackage[] = [];
  for (const dir of [...members].sort()) {
    const member = scopeAt(root, dir);
    if (await member.tree.isFile(fileIn(member, 'package.json'))) {
      const result = await detectNode(member, workspace);
      if (!result) {
        skipped.push({ path: dir, reason: 'package.json could not be read' });
      } else if (result.kind === 'skip') {
        skipped.push({ path: dir, reason: result.reason });
      } else {
        const deps = [...Object.keys(result.pkg.dependencies), ...Object.keys(result.pkg.devDependencies)];
        found.push({ dir, service: result.service, aliases: result.pkg.name ? [result.pkg.name] : [], wants: deps });
      }
      continue;
    }
    if (await member.tree.isFile(fileIn(member, 'project.json'))) {
      const result = await detectNxProject(member, toolchain);
      if (result?.kind === 'service') {
        found.push({ dir, service: result.service, aliases: [result.projectName], wants: result.implicitDependencies });
      } else if (result) skipped.push({ path: dir, reason: result.reason });
      continue;
    }
    // An app of another language living in the monorepo (a Go API under apps/api).
    const other = await detectFolder(member);
    if (other.service) found.push({ dir, service: other.service, aliases: [], wants: [] });
    else skipped.push({ path: dir, reason: other.hints[0] ?? 'no app found' });
  }

  const taken = new Set<string>();
  const named = found.map((entry) => ({ ...entry, name: uniqueName(dnsLabel(path.posix.basename(entry.dir)), taken) }));
  const byAlias = new Map<string, string>();
  for (const entry of named) for (const alias of [...entry.aliases, entry.dir]) byAlias.set(alias, entry.name);
  const services = named.map((entry): DetectedService => {
    const dependsOn = [...new Set(entry.wants.map((want) => byAlias.get(want)).filter((name): name is string => name !== undefined && name !== entry.name))];
    return { name: entry.name, ...entry.service, ...(dependsOn.length > 0 ? { dependsOn } : {}) };
  });
  const acyclic = breakCycles(services);
  root.problems.push(...acyclic.problems);
  return { services: acyclic.services, skipped, evidence: layout.evidence };
}

/**
 * Apps that depend on each other in a circle cannot be started in order, and the manifest refuses
 * such depends_on; so the edge that closes each circle is dropped and reported. Pure.
 */
export function breakCycles(services: DetectedService[]): { services: DetectedService[]; problems: string[] } {
  const edges = new Map(services.map((service) => [service.name, [...(service.dependsOn ?? [])]]));
  const state = new Map<string, 'visiting' | 'done'>();
  const problems: string[] = [];
  const visit = (name: string, trail: string[]): void => {
    state.set(name, 'visiting');
    const targets = edges.get(name) ?? [];
    for (const target of [...targets]) {
      if (state.get(target) === 'visiting') {
        targets.splice(targets.indexOf(target), 1);
        const circle = [...trail.slice(trail.indexOf(target)), name, target].join(' -> ');
        problems.push(`workspace dependencies go round in a circle (${circle}); depends_on leaves out ${name} -> ${target}`);
      } else if (state.get(target) === undefined && edges.has(target)) visit(target, [...trail, name]);
    }
    state.set(name, 'done');
  };
  for (const name of [...edges.keys()].sort()) if (state.get(name) === undefined) visit(name, []);
  return {
    services: services.map((service) => {
      const { dependsOn: _dropped, ...rest } = service;
      const kept = edges.get(service.name) ?? [];
      return kept.length > 0 ? { ...rest, dependsOn: kept } : rest;
    }),
    problems,
  };
}
