/**
 * Copies a delivery's commits from the provider into the project's bare repository with real git, so
 * the intake reads them as it reads pushed ones. Each command runs within what is left of one time
 * limit, in its own process group (a timeout also ends git's helpers), and only over allowed protocols.
 */
import { spawn } from 'node:child_process';
import { MaestroError } from '../common/index.js';
import type { CommitFetch } from './hook-intake.js';

export interface FetchOptions {
  /** All the fetches of one delivery together. */
  timeoutMs: number;
  /**
   * URL schemes git may use (GIT_ALLOW_PROTOCOL). https and http by default; `file` only for tests,
   * since a payload naming a local path would otherwise read any repository on this machine.
   */
  protocols: readonly string[];
}

export const DEFAULT_FETCH_OPTIONS: FetchOptions = { timeoutMs: 120_000, protocols: ['https', 'http'] };

/**
 * Fetches what is missing and returns, for each requested sha, the commit it names (an annotated
 * tag's sha becomes its commit's). A commit the repository already has is not fetched again.
 */
export async function fetchCommits(repository: string, fetches: readonly CommitFetch[], options: FetchOptions = DEFAULT_FETCH_OPTIONS): Promise<Map<string, string>> {
  return serialized(repository, async () => {
    const deadline = Date.now() + options.timeoutMs;
    const git = (args: string[]) => runGitUntil(repository, args, options, deadline);
    const commits = new Map<string, string>();
    for (const fetch of fetches) {
      const url = checkCloneUrl(fetch.url, options.protocols);
      if ((await git(['cat-file', '-e', `${fetch.sha}^{commit}`])).code !== 0) {
        await fetchOrFail(git, url, fetch, `+${fetch.ref}:${fetch.into}`, options);
        // The ref moved on since the event (or was force-pushed): ask for the exact commit. Providers
        // allow fetching a commit by sha; this fails only when it is no longer reachable there.
        if ((await git(['cat-file', '-e', `${fetch.sha}^{commit}`])).code !== 0) {
          await fetchOrFail(git, url, fetch, `+${fetch.sha}:${fetch.into}`, options, `commit ${fetch.sha} of ${fetch.ref} is no longer in ${displayUrl(url)} (force-pushed away?)`);
        }
      }
      const peeled = await git(['rev-parse', '--verify', '--quiet', `${fetch.sha}^{commit}`]);
      if (peeled.code !== 0) throw new MaestroError('unavailable', `${displayUrl(url)} sent ${fetch.ref} but not commit ${fetch.sha}`);
      commits.set(fetch.sha, peeled.stdout.trim());
    }
    return commits;
  });
}

type Git = (args: string[]) => Promise<GitRun>;

async function fetchOrFail(git: Git, url: URL, fetch: CommitFetch, refspec: string, options: FetchOptions, failure?: string): Promise<void> {
  const result = await git(['fetch', '--no-tags', '--quiet', '--no-write-fetch-head', '--', url.toString(), refspec]);
  if (result.timedOut) {
    throw new MaestroError(
      'unavailable',
      `fetching ${fetch.ref} from ${displayUrl(url)} took longer than ${Math.round(options.timeoutMs / 1000)} s; redeliver the webhook once the repository answers`,
    );
  }
  if (result.code !== 0) {
    // git's first fatal line says what went wrong; what follows is generic advice.
    const lines = result.stderr.split('\n').filter(Boolean);
    const reason = lines.find((line) => /^(fatal|error):/.test(line)) ?? lines.at(-1) ?? `git exited with ${result.code}`;
    throw new MaestroError('unavailable', failure ?? `could not fetch ${fetch.ref} from ${displayUrl(url)}: ${reason}`, { url: displayUrl(url), ref: fetch.ref });
  }
}

function checkCloneUrl(value: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MaestroError('validation_error', `the payload's clone URL ${JSON.stringify(value)} is not a URL`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!protocols.includes(scheme)) {
    throw new MaestroError('validation_error', `the payload's clone URL uses ${scheme}; Maestro fetches over ${protocols.join(' or ')} only`);
  }
  return url;
}

/** Without a user or password, should a clone URL ever carry them. */
function displayUrl(url: URL): string {
  const shown = new URL(url.toString());
  shown.username = '';
  shown.password = '';
  return shown.toString();
}

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runGitUntil(gitDir: string, args: string[], options: FetchOptions, deadline: number): Promise<GitRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: options.protocols.join(':'),
  };
  // HOME keeps the operator's git configuration: credentials for private repositories live there.
  if (process.env.HOME) env.HOME = process.env.HOME;
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitDir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, Math.max(0, deadline - Date.now()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new MaestroError('unavailable', `cannot run git (is it installed and on PATH?): ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr: stderr.trim(), timedOut });
    });
  });
}

// One delivery at a time per repository: two fetches into one ref would fight over its lock.
const tails = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const result = (tails.get(key) ?? Promise.resolve()).then(task, task);
  const tail = result.catch(() => undefined);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return result;
}
