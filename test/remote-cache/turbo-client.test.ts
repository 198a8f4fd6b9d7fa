/**
 * The real `turbo` command against a real Maestro: a second run with every local cache removed is
 * served entirely from Maestro's remote cache.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOutputs, succeeded, useClientsHarness } from './clients-harness.js';
import { clearLocal, executedHashes, runTurbo } from './workspace.js';

const harness = useClientsHarness();
const SIGNATURE_KEY = 'a-signature-key-of-at-least-32-bytes-long';

describe('turbo', () => {
  it('runs the second build entirely from the remote cache: FULL TURBO', async () => {
    const dir = await harness.workspace();
    const remote = { api: harness.maestro.apiUrl, token: harness.maestro.token, team: 'web' };
    const first = succeeded(await runTurbo(dir, remote));
    expect(first.output).toContain('Remote caching enabled');
    expect(executedHashes(first.output).size).toBe(2);
    expect(await harness.entries('web')).toBe(2);

    await clearLocal(dir);
    const second = succeeded(await runTurbo(dir, remote));
    expect(second.output).toContain('FULL TURBO');
    expect(second.output).toContain('2 cached, 2 total');
    await expectOutputs(dir);
  });

  it('gives a read-only laptop token hits, and its builds write nothing', async () => {
    const dir = await harness.workspace();
    const ci = { api: harness.maestro.apiUrl, token: harness.maestro.token, team: 'shared' };
    succeeded(await runTurbo(dir, ci));
    await clearLocal(dir);
    const laptop = { ...ci, token: harness.readerToken };
    expect(succeeded(await runTurbo(dir, laptop)).output).toContain('FULL TURBO');

    // A change only the laptop has: built locally, refused by the cache.
    await writeFile(join(dir, 'packages/alpha/index.js'), 'module.exports = "changed";\n');
    await clearLocal(dir);
    const changed = succeeded(await runTurbo(dir, laptop));
    expect([...executedHashes(changed.output).keys()]).toEqual(['alpha']);
    expect(changed.output).toContain('1 cached, 2 total');
    expect(await harness.entries('shared')).toBe(2);
  });

  it('with artifact signing, a tag edited in the store is a miss, and turbo rebuilds', async () => {
    const dir = await harness.workspace({ signature: true });
    const remote = { api: harness.maestro.apiUrl, token: harness.maestro.token, team: 'signed' };
    const signing = { TURBO_REMOTE_CACHE_SIGNATURE_KEY: SIGNATURE_KEY };
    const first = succeeded(await runTurbo(dir, remote, signing));
    const hashes = executedHashes(first.output);
    expect(hashes.size).toBe(2);

    const project = (await harness.maestro.store.projects.get('signed'))!;
    for (const hash of hashes.values()) {
      const entry = (await harness.maestro.store.remoteCache.get(project.id, hash))!;
      expect(entry.tag).toBeDefined();
      const tag = entry.tag!;
      const tampered = (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1);
      await harness.maestro.store.remoteCache.put({ projectId: project.id, hash, digest: entry.digest, sizeBytes: entry.sizeBytes, durationMs: entry.durationMs ?? 0, tag: tampered });
    }

    await clearLocal(dir);
    const second = succeeded(await runTurbo(dir, remote, signing));
    expect(second.output).not.toContain('FULL TURBO');
    expect(executedHashes(second.output).size).toBe(2);
    await expectOutputs(dir);

    // The rebuild uploaded correctly signed artifacts again, so the next run hits.
    await clearLocal(dir);
    expect(succeeded(await runTurbo(dir, remote, signing)).output).toContain('FULL TURBO');
  });
});
