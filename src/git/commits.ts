/**
 * Reading a project's commits for the intake. Each helper runs real git against the bare repository
 * with `objects.env` added, so it also sees a push's quarantined objects while the pre-receive hook
 * is still deciding.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { x as extractTar } from 'tar';
import { MaestroError, errorMessage } from '../common/index.js';
import type { GitObjects } from './intents.js';
import { isObjectName, isZeroSha } from './ref-updates.js';
import { gitEnvironment, gitFailure, gitOutput, runGit } from './run-git.js';

export interface CommitInfo {
  sha: string;
  /** The first line of the commit message. */
  message: string;
  /** `Name <email>`. */
  author: string;
}

function checkSha(what: string, sha: string): string {
  if (!isObjectName(sha)) throw new MaestroError('validation_error', `${what} must be a full commit sha (40 or 64 hex digits), got ${JSON.stringify(sha)}`);
  return sha;
}

/** True when the repository (or the quarantine) has this commit. */
async function hasCommit(objects: GitObjects, sha: string): Promise<boolean> {
  const result = await runGit(objects.repository, ['cat-file', '-e', `${sha}^{commit}`], objects.env);
  return result.code === 0;
}

async function requireCommit(objects: GitObjects, sha: string): Promise<void> {
  if (!(await hasCommit(objects, sha))) {
    throw new MaestroError('not_found', `commit ${sha} is not in the repository ${objects.repository}`);
  }
}

/**
 * Writes the commit's tree (files, folders, symlinks; no .git) into `destDir`, created when missing
 * (meant to be empty: files already there stay); an annotated tag's sha exports its commit. Export attributes in the commit cannot leave files out or rewrite them (the repository's
 * info/attributes turns them off, see repositories.ts): the folder is exactly the commit.
 */
export async function exportCommit(objects: GitObjects, sha: string, destDir: string): Promise<void> {
  checkSha('the commit to export', sha);
  await requireCommit(objects, sha);
  await mkdir(destDir, { recursive: true });
  const child = spawn('git', ['--git-dir', objects.repository, 'archive', '--format=tar', `${sha}^{commit}`], {
    env: gitEnvironment(objects.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const extraction = await pipeline(child.stdout, extractTar({ cwd: destDir, strict: true })).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (extraction !== undefined) child.kill();
  const code = await exited;
  if (extraction !== undefined) {
    // When git failed, its reason explains the broken archive better than tar's.
    throw new MaestroError('internal', `exporting commit ${sha} into ${destDir} failed: ${stderr.trim() || errorMessage(extraction)}`);
  }
  if (code !== 0) throw gitFailure(['archive', sha], { code, stdout: Buffer.alloc(0), stderr: stderr.trim() });
}

/**
 * The paths that differ between two commits (a rename lists both names), or undefined when there is
 * nothing to compare with: `fromSha` is all zeros (a new branch) or not in the repository.
 */
export async function changedPaths(objects: GitObjects, fromSha: string, toSha: string): Promise<string[] | undefined> {
  checkSha('the commit to compare to', toSha);
  if (isZeroSha(fromSha)) return undefined;
  checkSha('the commit to compare from', fromSha);
  if (!(await hasCommit(objects, fromSha))) return undefined;
  await requireCommit(objects, toSha);
  const output = await gitOutput(objects.repository, ['diff', '--name-only', '--no-renames', '-z', `${fromSha}^{commit}`, `${toSha}^{commit}`, '--'], objects.env);
  return output.split('\0').filter((path) => path !== '');
}

/** The commit `sha` names: itself, or the commit an annotated tag object points to (a pushed tag's new sha may be either). */
export async function resolveCommit(objects: GitObjects, sha: string): Promise<string> {
  checkSha('the commit or tag', sha);
  const result = await runGit(objects.repository, ['rev-parse', '--verify', '--quiet', `${sha}^{commit}`], objects.env);
  if (result.code !== 0) throw new MaestroError('not_found', `${sha} is not a commit (or a tag of one) in the repository ${objects.repository}`);
  return result.stdout.toString().trim();
}

/** The commit's sha, first message line and author; an annotated tag's sha gives its commit's. */
export async function commitInfo(objects: GitObjects, sha: string): Promise<CommitInfo> {
  checkSha('the commit', sha);
  await requireCommit(objects, sha);
  const output = await gitOutput(objects.repository, ['show', '-s', '--format=%H%x00%an <%ae>%x00%B', `${sha}^{commit}`], objects.env);
  const [full = sha, author = '', body = ''] = output.split('\0');
  return { sha: full, message: body.split('\n')[0]?.trim() ?? '', author };
}

/** True when `ancestor` is `descendant` or one of its ancestors (a fast-forward from one to the other). */
export async function isAncestor(objects: GitObjects, ancestor: string, descendant: string): Promise<boolean> {
  checkSha('the ancestor commit', ancestor);
  checkSha('the descendant commit', descendant);
  const args = ['merge-base', '--is-ancestor', `${ancestor}^{commit}`, `${descendant}^{commit}`];
  const result = await runGit(objects.repository, args, objects.env);
  if (result.code === 0) return true;
  if (result.code === 1) return false;
  // 128: one of them is not a commit here.
  throw new MaestroError('not_found', `cannot compare ${ancestor} and ${descendant}: ${result.stderr || 'git could not read them'}`);
}

/** True when the commit has a file (or a symlink) at `path`, a relative path such as `maestro.yml` or `apps/web/maestro.yml`. */
export async function hasFile(objects: GitObjects, sha: string, path: string): Promise<boolean> {
  checkSha('the commit', sha);
  const parts = path.split('/');
  if (path === '' || path.startsWith('/') || parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new MaestroError('validation_error', `the path to look for must be relative, without "." or ".." parts or empty parts, got ${JSON.stringify(path)}`);
  }
  await requireCommit(objects, sha);
  const output = await gitOutput(objects.repository, ['ls-tree', '-z', `${sha}^{commit}`, '--', path], objects.env);
  // `<mode> <type> <object>\t<path>`: blobs are files and symlinks; trees are folders, commits submodules.
  return output.split('\0').some((entry) => {
    const [meta = '', name] = entry.split('\t');
    return name === path && meta.split(' ')[1] === 'blob';
  });
}
