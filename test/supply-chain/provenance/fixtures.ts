import { createHash } from 'node:crypto';
import type { ProvenanceFacts } from '../../../src/supply-chain/provenance/index.js';

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

export const ARTIFACT_BYTES = Buffer.from('pretend this is hello-web.tar.gz\n');
export const ARTIFACT_DIGEST = sha256(ARTIFACT_BYTES);
export const COMMIT = '3f2a1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39';
export const SOURCE_DIGEST = sha256('source archive');

/** The facts of a plausible build of ARTIFACT_BYTES from COMMIT. */
export function sampleFacts(overrides: Partial<ProvenanceFacts> = {}): ProvenanceFacts {
  return {
    artifact: { name: 'hello-web.tar.gz', digest: ARTIFACT_DIGEST },
    buildId: 'bld_k3q7x2m4ba9z',
    builderVersion: '0.1.0',
    project: 'hello',
    service: 'web',
    environment: 'production',
    source: { digest: SOURCE_DIGEST, repository: 'https://github.com/octo/hello', ref: 'refs/heads/main', commit: COMMIT },
    manifestDigest: sha256('project: hello\n'),
    sandbox: 'bubblewrap',
    steps: [
      { name: 'install', command: 'npm ci' },
      { name: 'build', command: 'npm run build' },
      { name: 'package' },
    ],
    toolchains: { node: 'v20.19.0', npm: '10.8.2' },
    startedOn: new Date('2025-01-02T03:04:05.000Z'),
    finishedOn: new Date('2025-01-02T03:05:06.000Z'),
    ...overrides,
  };
}
