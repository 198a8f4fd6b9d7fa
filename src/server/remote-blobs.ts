import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request } from 'undici';
import { ContentStore } from '../build/index.js';
import { MaestroError } from '../common/index.js';
import type { BlobAccess } from './build-executor.js';

/**
 * Blobs for a runner on another machine: sources are fetched from the control plane's API into a
 * local content store (verified by digest), artifacts are packed locally and uploaded under their digest.
 */
export async function remoteBlobs(input: { apiUrl: string; token: string; cacheDir: string }): Promise<BlobAccess> {
  await mkdir(input.cacheDir, { recursive: true });
  const sources = new ContentStore(`${input.cacheDir}/sources`);
  const artifacts = new ContentStore(`${input.cacheDir}/artifacts`);
  const headers = { authorization: `Bearer ${input.token}` };
  return {
    async source(digest) {
      if (!(await sources.has(digest))) {
        const response = await request(`${input.apiUrl}/v1/sources/${digest}`, { headers });
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new MaestroError('unavailable', `the control plane answered ${response.statusCode} for source ${digest}`);
        }
        await sources.put(response.body, { expectedDigest: digest });
      }
      return sources.path(digest);
    },
    artifacts,
    async publish(digest) {
      const { size } = await artifacts.size(digest).then((bytes) => ({ size: bytes }));
      const response = await request(`${input.apiUrl}/v1/artifacts/${digest}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: createReadStream(artifacts.path(digest)),
      });
      const text = await response.body.text();
      if (response.statusCode !== 201) throw new MaestroError('unavailable', `uploading artifact ${digest} failed (${response.statusCode}): ${text.slice(0, 300)}`);
    },
  };
}
