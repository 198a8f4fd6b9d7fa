/** The commit helpers on an ordinary repository: what they answer, and the errors that say what is wrong. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedPaths, commitInfo, exportCommit, hasFile, isAncestor, resolveCommit, type GitObjects } from '../../src/git/index.js';
import { GitClient } from './harness.js';

let client: GitClient;
let objects: GitObjects;
let first: string;
let second: string;
const missing = 'f'.repeat(40);

beforeAll(async () => {
  client = await GitClient.create();
  const dir = await client.repository({ 'maestro.yml': 'project: hello\n', 'apps/web/server.js': 'v1\n' });
  first = await client.ok(dir, ['rev-parse', 'HEAD']);
  second = await client.commit(dir, { 'apps/web/server.js': 'v2\n' }, 'Second\nmore');
  objects = { repository: join(dir, '.git'), env: {} };
});
afterAll(async () => client?.remove());

describe('commit helpers', () => {
  it('answer about known commits', async () => {
    expect(await changedPaths(objects, first, second)).toEqual(['apps/web/server.js']);
    expect(await changedPaths(objects, missing, second)).toBeUndefined();
    expect(await isAncestor(objects, first, second)).toBe(true);
    expect(await isAncestor(objects, second, first)).toBe(false);
    expect(await hasFile(objects, second, 'apps/web/server.js')).toBe(true);
    expect(await hasFile(objects, second, 'apps/web')).toBe(false);
    expect(await hasFile(objects, second, 'nope.txt')).toBe(false);
    expect(await commitInfo(objects, second)).toEqual({ sha: second, message: 'Second', author: 'Ada <ada@example.com>' });
    expect(await resolveCommit(objects, second)).toBe(second);
  });

  it('say clearly what is wrong with their input', async () => {
    await expect(commitInfo(objects, missing)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining(`commit ${missing} is not in the repository`) });
    await expect(exportCommit(objects, 'HEAD', '/tmp/never')).rejects.toMatchObject({ code: 'validation_error', message: expect.stringContaining('full commit sha') });
    await expect(hasFile(objects, second, '../etc/passwd')).rejects.toMatchObject({ code: 'validation_error' });
    await expect(hasFile(objects, second, '/abs')).rejects.toMatchObject({ code: 'validation_error' });
    await expect(isAncestor(objects, missing, second)).rejects.toMatchObject({ code: 'not_found' });
    await expect(changedPaths(objects, first, missing)).rejects.toMatchObject({ code: 'not_found' });
    await expect(resolveCommit(objects, missing)).rejects.toMatchObject({ code: 'not_found' });
  });
});
