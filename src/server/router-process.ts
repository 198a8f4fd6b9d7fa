import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { MaestroError, maestroCommand } from '../common/index.js';
import { createRouterClient, type RouterClient } from '../router/index.js';
import type { DataPaths } from './paths.js';
import { freePort, isAlive, readTail, sleep, waitForExit } from './process-util.js';

/** What the control plane remembers of the router process it started, so a restarted one can adopt it. */
export interface RouterProcessInfo {
  pid: number;
  port: number;
  adminPort: number;
  host: string;
  startedAt: string;
}

export interface RouterOptions {
  port: number;
  adminPort: number;
  host: string;
}

export interface RunningRouter {
  info: RouterProcessInfo;
  client: RouterClient;
  adopted: boolean;
}

/** The shared secret guarding the router's admin API; kept in the data directory, mode 0600. */
export function routerToken(paths: DataPaths): string {
  if (existsSync(paths.routerToken)) return readFileSync(paths.routerToken, 'utf8').trim();
  mkdirSync(dirname(paths.routerToken), { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(paths.routerToken, token + '\n', { mode: 0o600 });
  return token;
}

function readInfo(paths: DataPaths): RouterProcessInfo | undefined {
  try {
    return JSON.parse(readFileSync(paths.routerPid, 'utf8')) as RouterProcessInfo;
  } catch {
    return undefined;
  }
}

function writeInfo(paths: DataPaths, info: RouterProcessInfo): void {
  mkdirSync(dirname(paths.routerPid), { recursive: true });
  const tmp = `${paths.routerPid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info, null, 2));
  renameSync(tmp, paths.routerPid);
}

function clientFor(info: { adminPort: number }, token: string): RouterClient {
  return createRouterClient({ adminUrl: `http://127.0.0.1:${info.adminPort}`, token });
}

async function answers(client: RouterClient): Promise<boolean> {
  try {
    await client.health();
    return true;
  } catch {
    return false;
  }
}

/**
 * Adopt the router that is already running for this data directory (it survives control-plane crashes),
 * or start a new one as a detached process that logs to a file, so it never depends on our stdout.
 */
export async function ensureRouter(paths: DataPaths, options: RouterOptions): Promise<RunningRouter> {
  const token = routerToken(paths);
  const previous = readInfo(paths);
  if (previous && isAlive(previous.pid)) {
    const client = clientFor(previous, token);
    const same =
      (options.port === 0 || previous.port === options.port) &&
      (options.adminPort === 0 || previous.adminPort === options.adminPort) &&
      previous.host === options.host;
    if (same && (await answers(client))) return { info: previous, client, adopted: true };
    // A router from another configuration, or one that no longer answers: replace it.
    await stopRouterProcess(paths);
  }
  // Port 0 means "any free port": chosen here, because the router's own output goes to its log file.
  const port = options.port || (await freePort());
  const adminPort = options.adminPort || (await freePort());
  mkdirSync(dirname(paths.routerLog), { recursive: true });
  mkdirSync(dirname(paths.routerState), { recursive: true });
  const logFd = openSync(paths.routerLog, 'a');
  const { command, args } = maestroCommand();
  const child = spawn(
    command,
    [...args, 'router', '--port', String(port), '--admin-port', String(adminPort), '--host', options.host, '--state-file', paths.routerState],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, MAESTRO_ROUTER_TOKEN: token } },
  );
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new MaestroError('unavailable', 'the router process could not be started');
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const info: RouterProcessInfo = { pid, port, adminPort, host: options.host, startedAt: new Date().toISOString() };
  const client = clientFor(info, token);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await answers(client)) {
      writeInfo(paths, info);
      return { info, client, adopted: false };
    }
    await sleep(50);
  }
  if (!exited) process.kill(pid, 'SIGKILL');
  const tail = await readTail(paths.routerLog, 5);
  const inUse = tail.some((line) => line.includes('EADDRINUSE'));
  throw new MaestroError(
    'unavailable',
    inUse
      ? `the router could not listen on port ${port} (or admin port ${adminPort}): it is already in use; choose another with --router-port / --router-admin-port`
      : `the router did not start; its last log lines:\n${tail.join('\n')}`,
    { log: paths.routerLog },
  );
}

export async function stopRouterProcess(paths: DataPaths): Promise<void> {
  const info = readInfo(paths);
  if (!info) return;
  if (isAlive(info.pid)) {
    process.kill(info.pid, 'SIGTERM');
    if (!(await waitForExit(info.pid, 12_000))) {
      try {
        process.kill(info.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(paths.routerPid, { force: true });
}
