import { nodeCommands, type NodeToolchain } from './node-toolchain.js';
import { fileIn, isInsideFolder, isRecord, readJsonObject, shellQuote, stringList, type Scope } from './read.js';
import type { DetectedService } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

export type NxResult =
  | { kind: 'service'; projectName: string; implicitDependencies: string[]; service: ServiceDraft }
  | { kind: 'skip'; reason: string };

/**
 * A project of an integrated Nx workspace (project.json, no package.json of its own). Nx builds
 * it from the workspace root into dist/, so the service runs at the root (`path: .`).
 */
export async function detectNxProject(member: Scope, toolchain: NodeToolchain): Promise<NxResult | undefined> {
  const project = await readJsonObject(member, 'project.json');
  if (!project) return undefined;
  const projectFile = fileIn(member, 'project.json');
  const name = typeof project.name === 'string' ? project.name : member.dir.split('/').pop()!;
  if (project.projectType === 'library') return { kind: 'skip', reason: 'Nx library' };
  const targets = isRecord(project.targets) ? project.targets : {};
  const build = isRecord(targets.build) ? targets.build : undefined;
  const executor = typeof build?.executor === 'string' ? build.executor : undefined;
  if (!executor) {
    if (project.projectType === 'application') {
      return { kind: 'skip', reason: `${projectFile} has no build target with an executor; add this app to maestro.yml by hand` };
    }
    return { kind: 'skip', reason: 'no build target' };
  }
  const options = isRecord(build?.options) ? build.options : {};
  const declared = typeof options.outputPath === 'string' ? options.outputPath.replace(/\/+$/, '') : undefined;
  const outputPath = declared && isInsideFolder(declared) ? declared : `dist/${member.dir}`;
  const commands = nodeCommands(toolchain);
  const base = {
    path: '.',
    packageManager: toolchain.packageManager,
    ...(toolchain.evidence ? { packageManagerEvidence: toolchain.evidence } : {}),
    install: commands.install,
    build: commands.exec('nx', `build ${shellQuote(name)}`),
    port: '$PORT' as const,
    evidence: [{ file: projectFile, reason: `build executor "${executor}"` }, ...(toolchain.evidence ? [toolchain.evidence] : [])],
    notes: [`Nx builds this app from the workspace root into ${outputPath}, so the service runs at the root`],
  };
  const result = (service: ServiceDraft): NxResult => ({
    kind: 'service',
    projectName: name,
    implicitDependencies: stringList(project.implicitDependencies),
    service,
  });
  if (/[:/]next:build$/.test(executor)) {
    return result({ ...base, runtime: 'node', framework: 'Next.js (Nx)', start: commands.exec('next', `start ${outputPath} -p $PORT`), env: { NODE_ENV: 'production' } });
  }
  const nodeTarget =
    /(?:node:build|node:webpack|esbuild:esbuild|js:tsc|js:swc|rollup)/.test(executor) ||
    (/webpack:webpack$/.test(executor) && options.target === 'node');
  if (nodeTarget) {
    const main = typeof options.outputFileName === 'string' ? options.outputFileName : 'main.js';
    return result({ ...base, runtime: 'node', framework: 'Node.js (Nx)', start: `node ${outputPath}/${main}`, env: { NODE_ENV: 'production' } });
  }
  if (/(vite:build|webpack:webpack|angular|build-angular|rspack)/.test(executor)) {
    const angularApplication = /:application$/.test(executor) || /build-angular:application/.test(executor);
    return result({ ...base, runtime: 'static', framework: 'static app (Nx)', staticDir: angularApplication ? `${outputPath}/browser` : outputPath });
  }
  return { kind: 'skip', reason: `${projectFile} builds with "${executor}", which Maestro does not know; add this app to maestro.yml by hand` };
}
