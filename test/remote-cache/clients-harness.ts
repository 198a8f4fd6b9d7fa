/**
 * What the turbo and nx client tests share: one Maestro for the file with a read-only `cache-reader`
 * token, throwaway workspaces removed at the end, and the checks both make on a run. Kept apart from
 * workspace.ts because the benchmark uses that one without vitest.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { PACKAGES, createWorkspace, type RunResult, type WorkspaceOptions } from './workspace.js';

export interface ClientsHarness {
  /** The running Maestro (set once the file's beforeAll has run). */
  readonly maestro: TestMaestro;
  /** A token with the `cache-reader` role: reads the cache, never writes it. */
  readonly readerToken: string;
  /** A fresh workspace, removed after the file's tests. */
  workspace(options?: WorkspaceOptions): Promise<string>;
  /** How many remote cache entries the project has (0 when the project does not exist yet). */
  entries(project: string): Promise<number>;
}

/** Registers the file's beforeAll/afterAll: Maestro started with a reader token, stopped and cleaned up after. */
export function useClientsHarness(): ClientsHarness {
  let maestro: TestMaestro | undefined;
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

  const running = (): TestMaestro => {
    if (!maestro) throw new Error('Maestro is not running: use the harness inside tests, after beforeAll');
    return maestro;
  };

  return {
    get maestro() {
      return running();
    },
    readerToken,
    async workspace(options = {}) {
      const dir = await createWorkspace(options);
      workspaces.push(dir);
      return dir;
    },
    async entries(project) {
      const store = running().store;
      const found = await store.projects.get(project);
      return found ? (await store.remoteCache.usage(found.id)).entries : 0;
    },
  };
}

/** The run, after checking it exited 0 (its output is the failure message otherwise). */
export function succeeded(result: RunResult): RunResult {
  expect(result.code, result.output).toBe(0);
  return result;
}

/** Every package's build output is in place, as the build writes it. */
export async function expectOutputs(dir: string): Promise<void> {
  for (const name of PACKAGES) expect(await readFile(join(dir, 'packages', name, 'dist/out.txt'), 'utf8')).toBe(`built ${name}\n`);
}
