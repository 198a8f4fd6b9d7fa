/** A real git repository standing in for GitHub or GitLab, reached over file:// as the payloads' clone URLs. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', LC_ALL: 'C' };

export interface Upstream {
  dir: string;
  url: string;
  git(...args: string[]): string;
  /** Commits a change to `file` on the current branch and returns the new sha. */
  commit(message: string, file?: string): Promise<string>;
}

export async function createUpstream(): Promise<Upstream> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-upstream-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: ENV, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  let n = 0;
  return {
    dir,
    url: `file://${dir}`,
    git,
    async commit(message, file = 'README.md') {
      n += 1;
      await writeFile(join(dir, file), `${message} ${n}\n`);
      git('add', '--all');
      git('commit', '--quiet', '-m', message);
      return git('rev-parse', 'HEAD');
    },
  };
}

/** A bare repository as Maestro keeps one per project. */
export async function createBare(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bare-'));
  execFileSync('git', ['init', '--quiet', '--bare', dir], { env: ENV });
  return dir;
}

export function refsOf(bare: string): Record<string, string> {
  const out = execFileSync('git', ['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'], { encoding: 'utf8' });
  return Object.fromEntries(out.split('\n').filter(Boolean).map((line) => line.split(' ').reverse()).map(([sha, ref]) => [ref, sha]));
}

export function hasCommit(bare: string, sha: string): boolean {
  try {
    execFileSync('git', ['--git-dir', bare, 'cat-file', '-e', `${sha}^{commit}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
