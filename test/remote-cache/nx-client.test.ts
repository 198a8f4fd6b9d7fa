/**
 * The real `nx` command against Maestro's Nx self-hosted remote cache: a second run with the local
 * cache removed reads every task's outputs from Maestro.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { PACKAGES, clearLocal, createWorkspace, runNx, type RunResult } from './workspace.js';

let maestro: TestMaestro;
const readerToken = generateToken();
const workspaces: string[] = [];

beforeAll(async () => {
  maestro = await startTestMaestro();
  await maestro.store.tokens.create({ name: 'laptop', hash: hashToken(readerToken), role: 'cache-reader' });
});

afterAll(async () => {
  await stopTestMaestro(maestro);
  for (const dir of workspaces) await rm(dir, { recursive: true, force: true });
});

async function workspace(options: Parameters<typeof createWorkspace>[0] = {}): Promise<string> {
  const dir = await createWorkspace(options);
  workspaces.push(dir);
  return dir;
}

function succeeded(result: RunResult): RunResult {
  expect(result.code, result.output).toBe(0);
  return result;
}

async function expectOutputs(dir: string): Promise<void> {
  for (const name of PACKAGES) expect(await readFile(join(dir, 'packages', name, 'dist/out.txt'), 'utf8')).toBe(`built ${name}\n`);
}

async function entries(project: string): Promise<number> {
  const found = await maestro.store.projects.get(project);
  return found ? (await maestro.store.remoteCache.usage(found.id)).entries : 0;
}

describe('nx', () => {
  it('reads the second run\'s outputs from the remote cache, also with a read-only laptop token that never writes', async () => {
    const dir = await workspace();
    const ci = { server: `${maestro.apiUrl}/nx`, token: maestro.token };
    const first = succeeded(await runNx(dir, ci));
    expect(first.output).not.toContain('[remote cache]');
    expect(await entries('nx')).toBe(2);

    await clearLocal(dir);
    const laptop = { ...ci, token: readerToken };
    const second = succeeded(await runNx(dir, laptop));
    expect(second.output).toContain('[remote cache]');
    expect(second.output).toMatch(/Nx read the output from the cache instead of running the command for 2 out of 2 tasks/);
    await expectOutputs(dir);

    // A change only the laptop has: built locally, and the cache refuses it without failing the run.
    await writeFile(join(dir, 'packages/alpha/index.js'), 'module.exports = "changed";\n');
    await clearLocal(dir);
    const changed = succeeded(await runNx(dir, laptop));
    expect(changed.output).toMatch(/for 1 out of 2 tasks/);
    expect(await entries('nx')).toBe(2);
  });

  it('shows Maestro\'s own words when the token is wrong', async () => {
    const dir = await workspace();
    const result = await runNx(dir, { server: `${maestro.apiUrl}/nx`, token: 'mae_wrong-token-for-this-server' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Unauthorized: the API token is not valid (unknown, revoked or expired)');
  });
});
