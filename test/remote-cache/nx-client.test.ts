/**
 * The real `nx` command against Maestro's Nx self-hosted remote cache: a second run with the local
 * cache removed reads every task's outputs from Maestro.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOutputs, succeeded, useClientsHarness } from './clients-harness.js';
import { clearLocal, runNx } from './workspace.js';

const harness = useClientsHarness();

describe('nx', () => {
  it('reads the second run\'s outputs from the remote cache, also with a read-only laptop token that never writes', async () => {
    const dir = await harness.workspace();
    const ci = { server: `${harness.maestro.apiUrl}/nx`, token: harness.maestro.token };
    const first = succeeded(await runNx(dir, ci));
    expect(first.output).not.toContain('[remote cache]');
    expect(await harness.entries('nx')).toBe(2);

    await clearLocal(dir);
    const laptop = { ...ci, token: harness.readerToken };
    const second = succeeded(await runNx(dir, laptop));
    expect(second.output).toContain('[remote cache]');
    expect(second.output).toMatch(/Nx read the output from the cache instead of running the command for 2 out of 2 tasks/);
    await expectOutputs(dir);

    // A change only the laptop has: built locally, and the cache refuses it without failing the run.
    await writeFile(join(dir, 'packages/alpha/index.js'), 'module.exports = "changed";\n');
    await clearLocal(dir);
    const changed = succeeded(await runNx(dir, laptop));
    expect(changed.output).toMatch(/for 1 out of 2 tasks/);
    expect(await harness.entries('nx')).toBe(2);
  });

  it('shows Maestro\'s own words when the token is wrong', async () => {
    const dir = await harness.workspace();
    const result = await runNx(dir, { server: `${harness.maestro.apiUrl}/nx`, token: 'mae_wrong-token-for-this-server' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Unauthorized: the API token is not valid (unknown, revoked or expired)');
  });
});
