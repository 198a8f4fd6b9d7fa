import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, type AgentOptions, type ReplicaSpec, type ReplicaStatus } from '../../src/runtime/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function fixtureCommand(fixture: string): string {
  return `exec "${process.execPath}" ${fixture}`;
}

export function replicaSpec(id: string, fixture: string, overrides: Partial<ReplicaSpec> = {}): ReplicaSpec {
  return {
    id,
    revisionId: `rev-${id}`,
    cwd: FIXTURES,
    command: fixtureCommand(fixture),
    env: {},
    health: { intervalMs: 200, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 },
    labels: { project: 'shop', service: 'web', environment: 'test' },
    ...overrides,
  };
}

/**
 * Temporary directories and agents for one test, and a safety net: every pid any agent reported is
 * killed with its whole process group at cleanup, so a failing test leaks no process.
 */
export class RuntimeSandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'maestro-runtime-'));
  readonly stateDir = join(this.root, 'state');
  readonly logDir = join(this.root, 'logs');
  private readonly agents: Agent[] = [];
  private readonly pids = new Set<number>();

  agent(options: Partial<AgentOptions> = {}): Agent {
    const agent = new Agent({ stateDir: this.stateDir, logDir: this.logDir, restartBackoff: { initialMs: 50, maxMs: 200 }, ...options });
    agent.on('change', (status: ReplicaStatus) => {
      if (status.pid !== undefined) this.pids.add(status.pid);
    });
    this.agents.push(agent);
    return agent;
  }

  track(pid: number): void {
    this.pids.add(pid);
  }

  async cleanup(): Promise<void> {
    for (const agent of this.agents) await agent.shutdown({ stopReplicas: true, graceMs: 500 }).catch(() => {});
    for (const pid of this.pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Running, not merely a zombie waiting to be reaped (PID 1 here may never reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return condition();
}

export async function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}
