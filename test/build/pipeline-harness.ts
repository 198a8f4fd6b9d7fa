import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore, unpackArtifact } from '../../src/build/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { listAll } from './tree-helpers.js';

/** A real store (PGlite) and artifact store in a temporary folder, for running pipelines. */
export interface PipelineHarness {
  root: string;
  store: Store;
  artifacts: ContentStore;
  /** A build record (with its project, service and deployment) for one pipeline run. */
  newBuild(): Promise<string>;
  /** Every path the artifact holds, sorted. */
  artifactPaths(digest: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function openPipelineHarness(prefix: string): Promise<PipelineHarness> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const store = await openStore({ dataDir: join(root, 'data') });
  const artifacts = new ContentStore(join(root, 'artifacts'));
  let counter = 0;
  return {
    root,
    store,
    artifacts,
    async newBuild() {
      counter += 1;
      const project = await store.projects.ensure(`pipeline-${counter}`);
      const service = await store.services.ensure(project.id, 'web');
      const environment = await store.environments.ensure(project.id, 'production');
      const { deployment } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: 'c'.repeat(64),
        config: {},
      });
      return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'c'.repeat(64) })).id;
    },
    async artifactPaths(digest) {
      const dest = await mkdtemp(join(root, 'artifact-'));
      await unpackArtifact(digest, artifacts, dest);
      const paths = await listAll(dest);
      await rm(dest, { recursive: true, force: true });
      return paths.sort();
    },
    async close() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
