/**
 * What to run for a sandboxed step, as a pure function of what the step may see and touch
 * (bubblewrap flags only; nothing here starts a process).
 *
 * The host is visible read-only; the work dir and the extra writable folders are bound writable;
 * hidden folders (the data directory: keys, other projects' work) are masked by an empty tmpfs and
 * only the writable paths under them are bound back on top. Mounts apply in order, so a folder
 * always comes before the folders inside it: a later mount is never covered by an earlier one.
 */
import { posix } from 'node:path';
import { MaestroError } from '../../common/index.js';
import { checkEnvironment } from '../step-env.js';

export interface SandboxSpec {
  /** A shell command, run with /bin/sh -c. */
  command: string;
  cwd: string;
  /** The step's own folder, bound writable. */
  workDir: string;
  /** More folders bound writable (cache folders). */
  writable: string[];
  /** Folders masked with an empty tmpfs; the work dir and writable folders under them stay visible. */
  hidden: string[];
  network: boolean;
  /** The whole environment of the command: the sandbox starts from an empty one. */
  env: Record<string, string>;
  /** Runs bwrap under `nice -n <nice>` when given. */
  nice?: number;
}

export interface Argv {
  command: string;
  args: string[];
}

type Mount = { kind: 'tmpfs' | 'bind'; path: string };

export function sandboxArgv(spec: SandboxSpec): Argv {
  const bwrap = ['bwrap', ...bwrapOptions(spec), '--', '/bin/sh', '-c', spec.command];
  if (spec.nice === undefined) return { command: bwrap[0]!, args: bwrap.slice(1) };
  checkNice(spec.nice);
  return { command: 'nice', args: ['-n', String(spec.nice), ...bwrap] };
}

/** The bwrap options of a spec, without the command: what `--args <fd>` reads. */
export function bwrapOptions(spec: Omit<SandboxSpec, 'command' | 'nice'>): string[] {
  const cwd = absolutePath(spec.cwd, 'the working folder', true);
  const workDir = absolutePath(spec.workDir, 'the work dir');
  const writable = spec.writable.map((path) => absolutePath(path, 'a writable folder'));
  const hidden = spec.hidden.map((path) => absolutePath(path, 'a hidden folder'));
  checkEnvironment(spec.env);

  // Parents before children; at the same path the mask goes first so an explicit bind wins.
  const mounts: Mount[] = [
    { kind: 'tmpfs', path: '/tmp' },
    ...hidden.map((path): Mount => ({ kind: 'tmpfs', path })),
    ...[workDir, ...writable].map((path): Mount => ({ kind: 'bind', path })),
  ];
  const unique = mounts.filter((mount, index) => mounts.findIndex((other) => other.kind === mount.kind && other.path === mount.path) === index);
  unique.sort((a, b) => depth(a.path) - depth(b.path) || (a.kind === b.kind ? 0 : a.kind === 'tmpfs' ? -1 : 1));

  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  for (const mount of unique) {
    if (mount.kind === 'tmpfs') args.push('--tmpfs', mount.path);
    else args.push('--bind', mount.path, mount.path);
  }
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts');
  if (!spec.network) args.push('--unshare-net');
  args.push('--die-with-parent', '--new-session', '--chdir', cwd, '--clearenv');
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value);
  return args;
}

export function checkNice(nice: number): void {
  // Builds only ever give way: a negative value would raise them above the apps they share the machine with.
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new MaestroError('validation_error', `the build priority (nice) must be a whole number from 0 to 19, got ${String(nice)}`);
  }
}

function absolutePath(path: string, what: string, rootAllowed = false): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new MaestroError('validation_error', `${what} for the sandbox must be an absolute path, got "${String(path).slice(0, 200)}"`);
  }
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '' && rootAllowed) return '/';
  if (normal === '') {
    throw new MaestroError('validation_error', `${what} for the sandbox cannot be the root folder "/"`);
  }
  return normal;
}

function depth(path: string): number {
  return path.split('/').length;
}
