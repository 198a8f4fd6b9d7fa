import { serviceUrl } from '../rollout/index.js';
import type { LiveRoute, Preview } from '../store/index.js';

/** A preview as the API and the CLI show it. */
export interface PreviewView {
  project: string;
  name: string;
  kind: Preview['kind'];
  branch: string;
  pullRequest: number | null;
  head: string | null;
  origin: Preview['origin'];
  state: Preview['state'];
  /** One per service serving in the preview now. */
  urls: string[];
  expiresAt: string;
  lastRequestAt: string | null;
  createdAt: string;
  destroyedAt: string | null;
  destroyReason: string | null;
}

export function previewView(project: string, preview: Preview, live: readonly LiveRoute[], routerPort: number): PreviewView {
  const urls = live
    .filter((row) => row.projectName === project && row.environmentName === preview.name && preview.state !== 'destroyed')
    .map((row) => serviceUrl(project, row.serviceName, preview.name, routerPort));
  return {
    project,
    name: preview.name,
    kind: preview.kind,
    branch: preview.branch,
    pullRequest: preview.prNumber ?? null,
    head: preview.headSha ?? null,
    origin: preview.origin,
    state: preview.state,
    urls,
    expiresAt: preview.expiresAt.toISOString(),
    lastRequestAt: preview.lastRequestAt?.toISOString() ?? null,
    createdAt: preview.createdAt.toISOString(),
    destroyedAt: preview.destroyedAt?.toISOString() ?? null,
    destroyReason: preview.destroyReason ?? null,
  };
}
