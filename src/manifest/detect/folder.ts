import { detectDeno } from './deno.js';
import { detectDockerfile } from './dockerfile.js';
import { detectDotnet } from './dotnet.js';
import { detectElixir } from './elixir.js';
import { detectGleam } from './gleam.js';
import { detectGo } from './go.js';
import { detectJvm } from './jvm.js';
import { detectNode } from './node.js';
import { detectPhp } from './php.js';
import { detectPython } from './python.js';
import { firstFile, type Scope } from './read.js';
import { detectRuby } from './ruby.js';
import { detectRust } from './rust.js';
import { detectHugo, detectJekyll, detectMkDocs, detectPlainStatic } from './static-site.js';
import type { DetectedService } from './types.js';

export type ServiceDraft = Omit<DetectedService, 'name'>;

export interface FolderResult {
  service?: ServiceDraft;
  /** Why ecosystems that were present could not place the app, for when nothing did. */
  hints: string[];
}

type Outcome = { service?: ServiceDraft; hint?: string } | undefined;
type Detector = (scope: Scope) => Promise<Outcome>;

const draft =
  (detect: (scope: Scope) => Promise<ServiceDraft | undefined>): Detector =>
  async (scope) => {
    const service = await detect(scope);
    return service ? { service } : undefined;
  };

const node: Detector = async (scope) => {
  const result = await detectNode(scope);
  if (!result) return undefined;
  return result.kind === 'service' ? { service: result.service } : { hint: result.reason };
};

const rootIndexHtml: Detector = async (scope) => {
  const service = await detectPlainStatic(scope);
  return service && service.staticDir === '.' ? { service } : undefined;
};

/**
 * Tried in order; the first that places the app wins. Frameworks that carry a package.json only
 * for their assets (Rails, Laravel, Phoenix, Hugo) come before Node so the asset tooling does not
 * hide them; the Dockerfile is the fallback when no toolchain explains the app.
 */
const DETECTORS: ReadonlyArray<[string, Detector]> = [
  ['Deno', draft(detectDeno)],
  ['Hugo', draft(detectHugo)],
  ['Jekyll', draft(detectJekyll)],
  ['MkDocs', draft(detectMkDocs)],
  ['Ruby', detectRuby],
  ['Python', detectPython],
  ['PHP', detectPhp],
  ['Elixir', detectElixir],
  ['Go', detectGo],
  ['Rust', detectRust],
  ['Java', detectJvm],
  ['.NET', detectDotnet],
  ['Gleam', detectGleam],
  ['Node', node],
  ['static HTML', rootIndexHtml],
  ['Dockerfile', detectDockerfile],
  ['built site', draft(detectPlainStatic)],
];

/** Detects the one app in `scope.dir`. Never throws: a detector that fails becomes a problem. */
export async function detectFolder(scope: Scope): Promise<FolderResult> {
  const hints: string[] = [];
  for (const [label, detector] of DETECTORS) {
    let outcome: Outcome;
    try {
      outcome = await detector(scope);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      scope.problems.push(`${label} detection failed in ${scope.dir === '.' ? 'the folder' : scope.dir}: ${detail}`);
      continue;
    }
    if (outcome?.hint) hints.push(outcome.hint);
    if (!outcome?.service) continue;
    const service = outcome.service;
    if (service.framework !== 'Dockerfile') {
      const dockerfile = await firstFile(scope, ['Dockerfile', 'Containerfile']);
      if (dockerfile) {
        service.notes.push(`${dockerfile} is present too; this service builds with the ${service.framework} toolchain instead of it`);
      }
    }
    return { service, hints };
  }
  return { hints };
}
