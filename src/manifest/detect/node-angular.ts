import { isInsideFolder } from './read.js';
import { dependencyReason, hasDependency } from './node-package.js';
import type { NodeDecision, NodeFacts } from './node-facts.js';
import type { PlanBuilder } from './node-plan-builder.js';

/** Angular: a static build, or the SSR server when @angular/ssr is in. */
export function planAngular(facts: NodeFacts, b: PlanBuilder): NodeDecision {
  b.evidence.push({ file: b.pkgFile, reason: dependencyReason(facts.pkg, '@angular/core')! });
  let project = 'app';
  let outputPath: string | undefined;
  let applicationBuilder = true;
  let ssr = hasDependency(facts.pkg, '@angular/ssr');
  try {
    const workspace = JSON.parse(facts.texts.get('angular.json') ?? '{}') as {
      defaultProject?: string;
      projects?: Record<string, { architect?: { build?: { builder?: string; options?: Record<string, unknown> } } }>;
    };
    const names = Object.keys(workspace.projects ?? {});
    project = workspace.defaultProject ?? names[0] ?? project;
    const build = workspace.projects?.[project]?.architect?.build;
    const output = build?.options?.outputPath;
    const declared = typeof output === 'string' ? output : typeof (output as { base?: unknown })?.base === 'string' ? (output as { base: string }).base : undefined;
    outputPath = declared && isInsideFolder(declared) ? declared.replace(/\/+$/, '') : undefined;
    applicationBuilder = !/:browser$/.test(build?.builder ?? '');
    ssr = ssr || (build?.options?.ssr !== undefined && build.options.ssr !== false);
  } catch {
    b.notes.push(`${b.file('angular.json')} is not valid JSON; Maestro assumed the default output folder`);
  }
  const out = outputPath ?? `dist/${project}`;
  b.evidence.push({ file: b.file('angular.json'), reason: `project "${project}"` });
  if (ssr && applicationBuilder) {
    // The Angular SSR server (server.ts) reads PORT.
    return b.plan('Angular (SSR)', { build: b.build('ng', 'build'), start: `node ${out}/server/server.mjs` });
  }
  return b.plan('Angular', { build: b.build('ng', 'build'), staticDir: applicationBuilder ? `${out}/browser` : out });
}
