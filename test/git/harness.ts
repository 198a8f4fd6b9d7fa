/**
 * A small Maestro for the git remote's tests: a Fastify app with the git plugin (behind the API's bearer
 * auth, as in the real API), a PGlite store with tokens of several roles, a receiver whose answers the
 * test decides, and a stock git client in a throwaway HOME.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerAuth } from '../../src/api/auth.js';
import { silentLogger } from '../../src/common/index.js';
import { gitHttpBackend, type IntentOutcome, type PushReceiver, type ReceivedPush } from '../../src/git/index.js';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { openStore, type Store } from '../../src/store/index.js';

export type Answer = (push: ReceivedPush, progress: (line: string) => void, signal: AbortSignal) => Promise<IntentOutcome>;

/** Records every push; answers with `answer` (accepts by default). */
export class TestReceiver implements PushReceiver {
  readonly pushes: ReceivedPush[] = [];
  answer: Answer = async () => accepted();

  async receive(push: ReceivedPush, progress: (line: string) => void, signal: AbortSignal): Promise<IntentOutcome> {
    this.pushes.push(push);
    return this.answer(push, progress, signal);
  }
}

export function accepted(message = 'deployed', urls: string[] = ['http://web.production.hello.localhost:8080/']): IntentOutcome {
  return { ok: true, message, urls, deploymentIds: ['dep_1'] };
}

export function refused(message: string): IntentOutcome {
  return { ok: false, message, urls: [], deploymentIds: [] };
}

export interface GitServer {
  app: FastifyInstance;
  store: Store;
  dataDir: string;
  /** http://127.0.0.1:<port> */
  base: string;
  receiver: TestReceiver;
  tokens: Record<'owner' | 'ci' | 'viewer' | 'expired', string>;
  /** The git URL of a project with a token in it. */
  remote(project: string, token?: string): string;
  close(): Promise<void>;
}

export async function startGitServer(): Promise<GitServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-git-'));
  const store = await openStore({ dataDir });
  const receiver = new TestReceiver();
  const tokens = { owner: generateToken(), ci: generateToken(), viewer: generateToken(), expired: generateToken() };
  await store.tokens.create({ name: 'admin', hash: hashToken(tokens.owner), role: 'owner' });
  await store.tokens.create({ name: 'ci', hash: hashToken(tokens.ci), role: 'developer' });
  await store.tokens.create({ name: 'observer', hash: hashToken(tokens.viewer), role: 'viewer' });
  await store.tokens.create({ name: 'old', hash: hashToken(tokens.expired), role: 'owner', expiresAt: new Date(Date.now() - 60_000) });

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true });
  await registerAuth(app, { store });
  await app.register(gitHttpBackend({ store, dataDir, logger: silentLogger(), receiver }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the test server has no port');
  const base = `http://127.0.0.1:${address.port}`;
  return {
    app,
    store,
    dataDir,
    base,
    receiver,
    tokens,
    remote: (project, token = tokens.owner) => `http://x:${token}@127.0.0.1:${address.port}/git/${project}.git`,
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stock git client with no user or system configuration of this machine. */
export class GitClient {
  private constructor(readonly home: string) {}

  static async create(): Promise<GitClient> {
    const home = await mkdtemp(join(tmpdir(), 'maestro-git-client-'));
    return new GitClient(home);
  }

  env(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Ada',
      GIT_AUTHOR_EMAIL: 'ada@example.com',
      GIT_COMMITTER_NAME: 'Ada',
      GIT_COMMITTER_EMAIL: 'ada@example.com',
    };
  }

  /** Runs git; `onStderr` sees git's stderr as it arrives. */
  run(cwd: string, args: string[], onStderr?: (text: string) => void): Promise<GitRun> {
    return this.start(cwd, args, onStderr).done;
  }

  /** Starts git in a process group of its own (with its remote helper), to stop it early with `stop`. */
  start(cwd: string, args: string[], onStderr?: (text: string) => void): { child: ChildProcess; done: Promise<GitRun>; stop: () => void } {
    const child = spawn('git', args, { cwd, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = (): void => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    };
    const done = new Promise<GitRun>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        onStderr?.(chunk.toString());
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr }));
    });
    return { child, done, stop };
  }

  async ok(cwd: string, args: string[]): Promise<string> {
    const result = await this.run(cwd, args);
    if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout.trim();
  }

  /** A new repository on `main` with one commit of these files. */
  async repository(files: Record<string, string> = { 'README.md': 'hello\n' }): Promise<string> {
    const dir = await mkdtemp(join(this.home, 'work-'));
    await this.ok(dir, ['init', '--quiet', '--initial-branch=main']);
    await this.commit(dir, files, 'first');
    return dir;
  }

  /** Writes the files and commits them; returns the new commit's sha. */
  async commit(dir: string, files: Record<string, string>, message: string): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    await this.ok(dir, ['add', '-A']);
    await this.ok(dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
    return this.ok(dir, ['rev-parse', 'HEAD']);
  }

  async remove(): Promise<void> {
    await rm(this.home, { recursive: true, force: true });
  }
}
