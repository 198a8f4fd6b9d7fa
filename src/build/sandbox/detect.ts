/**
 * Whether builds can be sandboxed on this machine: bwrap must be on PATH and actually able to
 * create a sandbox (some containers forbid the namespaces it needs). Asked once per process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './find-executable.js';
import { stepLaunch } from './launch.js';

export type SandboxDetection =
  | { available: true; version: string; bwrapPath: string }
  /** `installed`: bwrap is on PATH but cannot create a sandbox here. */
  | { available: false; reason: string; installed: boolean };

export interface DetectOptions {
  /** The search path to find bwrap on; this process's PATH by default. */
  searchPath?: string;
}

const TRIAL_TIMEOUT_MS = 10_000;
const cache = new Map<string, Promise<SandboxDetection>>();

export function detectSandbox(options: DetectOptions = {}): Promise<SandboxDetection> {
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  let detection = cache.get(searchPath);
  if (!detection) {
    detection = detect(searchPath);
    cache.set(searchPath, detection);
  }
  return detection;
}

async function detect(searchPath: string): Promise<SandboxDetection> {
  const bwrapPath = await findExecutable('bwrap', searchPath);
  if (!bwrapPath) return { available: false, installed: false, reason: 'bubblewrap (bwrap) is not installed: it was not found on PATH' };
  const version = await run(bwrapPath, ['--version']);
  if (version.code !== 0) return { available: false, installed: true, reason: `\`${bwrapPath} --version\` failed: ${firstLine(version.output)}` };
  // The trial uses the very flags a build gets, so "available" means builds will start.
  const workDir = await mkdtemp(join(tmpdir(), 'maestro-sandbox-trial-'));
  try {
    const launch = stepLaunch({
      command: 'exit 0',
      sandbox: { bwrapPath, spec: { cwd: workDir, workDir, writable: [], hidden: [], network: false, env: { PATH: '/usr/bin:/bin' } } },
    });
    const trial = await run(launch.command, launch.args, launch.fd3);
    if (trial.code !== 0) {
      return { available: false, installed: true, reason: `bubblewrap (bwrap) is installed but cannot create a sandbox here: ${firstLine(trial.output)}` };
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return { available: true, bwrapPath, version: version.output.trim().replace(/^bubblewrap\s+/, '') };
}

function run(command: string, args: string[], fd3?: Buffer): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', fd3 ? 'pipe' : 'ignore'], timeout: TRIAL_TIMEOUT_MS });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const extra = child.stdio[3];
    if (fd3 && extra && 'end' in extra) {
      extra.on('error', () => undefined);
      extra.end(fd3);
    }
    child.on('error', (error) => resolve({ code: null, output: error.message }));
    child.on('close', (code, signal) => resolve({ code, output: output || (signal ? `killed by ${signal}` : `exit code ${String(code)}`) }));
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) || 'no output';
}
