import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchCommits } from '../../src/git-hosts/index.js';
import { createBare, createUpstream, hasCommit, refsOf } from './upstream.js';

const LOCAL = { timeoutMs: 20_000, protocols: ['file', 'http'] };

describe('fetching a delivery\'s commits with real git', () => {
  it('fetches a branch, a pull request head and an annotated tag (given as its commit), into refs/maestro', async () => {
    const upstream = await createUpstream();
    const first = await upstream.commit('first');
    upstream.git('checkout', '--quiet', '-b', 'feature');
    const feature = await upstream.commit('feature work');
    upstream.git('update-ref', 'refs/pull/7/head', feature);
    upstream.git('checkout', '--quiet', 'main');
    upstream.git('tag', '-a', 'v1.0.0', '-m', 'release', first);
    const tagObject = upstream.git('rev-parse', 'refs/tags/v1.0.0');
    expect(tagObject).not.toBe(first);
    const bare = await createBare();

    const commits = await fetchCommits(
      bare,
      [
        { url: upstream.url, ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha: first },
        { url: upstream.url, ref: 'refs/pull/7/head', into: 'refs/maestro/github/pull/7', sha: feature },
        { url: upstream.url, ref: 'refs/tags/v1.0.0', into: 'refs/maestro/github/tags/v1.0.0', sha: tagObject },
      ],
      LOCAL,
    );
    expect(Object.fromEntries(commits)).toEqual({ [first]: first, [feature]: feature, [tagObject]: first });
    expect(refsOf(bare)).toEqual({
      'refs/maestro/github/heads/main': first,
      'refs/maestro/github/pull/7': feature,
      'refs/maestro/github/tags/v1.0.0': tagObject,
    });
  });

  it('fetches the exact commit when the branch has moved on past it, or was force-pushed away from it', async () => {
    const upstream = await createUpstream();
    const old = await upstream.commit('old');
    await upstream.commit('newer');
    upstream.git('config', 'uploadpack.allowAnySHA1InWant', 'true');
    const bare = await createBare();
    const payloadSaid = await upstream.commit('the one the payload names');
    upstream.git('reset', '--quiet', '--hard', old); // force-pushed away
    await upstream.commit('rewritten');
    await fetchCommits(bare, [{ url: upstream.url, ref: 'refs/heads/main', into: 'refs/maestro/gitlab/heads/main', sha: payloadSaid }], LOCAL);
    expect(hasCommit(bare, payloadSaid)).toBe(true);
    expect(refsOf(bare)['refs/maestro/gitlab/heads/main']).toBe(payloadSaid);
  });

  it('does not fetch what the repository already has', async () => {
    const upstream = await createUpstream();
    const sha = await upstream.commit('one');
    const bare = await createBare();
    await fetchCommits(bare, [{ url: upstream.url, ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha }], LOCAL);
    // The upstream is gone; the commit is here already, so nothing is asked of it.
    const again = await fetchCommits(bare, [{ url: 'file:///nonexistent/repository', ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha }], LOCAL);
    expect(again.get(sha)).toBe(sha);
  });

  it('says clearly what could not be fetched, and why', async () => {
    const upstream = await createUpstream();
    const sha = await upstream.commit('one');
    const bare = await createBare();
    await expect(fetchCommits(bare, [{ url: 'file:///nonexistent/repository', ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha }], LOCAL)).rejects.toThrow(
      /^could not fetch refs\/heads\/main from file:\/\/\/nonexistent\/repository: fatal: .*/,
    );
    await expect(fetchCommits(bare, [{ url: upstream.url, ref: 'refs/heads/gone', into: 'refs/maestro/github/heads/gone', sha }], LOCAL)).rejects.toThrow(
      /could not fetch refs\/heads\/gone from file:\/\/.*: fatal: couldn't find remote ref refs\/heads\/gone/,
    );
    const missing = 'e'.repeat(40);
    await expect(fetchCommits(bare, [{ url: upstream.url, ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha: missing }], LOCAL)).rejects.toThrow(
      `commit ${missing} of refs/heads/main is no longer in ${upstream.url}`,
    );
    await expect(fetchCommits(bare, [{ url: upstream.url, ref: 'refs/heads/main', into: 'refs/maestro/github/heads/main', sha: 'f'.repeat(40) }])).rejects.toThrow(
      "the payload's clone URL uses file; Maestro fetches over https or http only",
    );
    await expect(fetchCommits(bare, [{ url: 'https://user:hunter2@127.0.0.1:1/r.git', ref: 'refs/heads/main', into: 'refs/maestro/x', sha: 'f'.repeat(40) }])).rejects.toThrow(
      /^could not fetch refs\/heads\/main from https:\/\/127\.0\.0\.1:1\/r\.git: /,
    );
  });

  it('gives up on a repository that does not answer within the time limit', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const bare = await createBare();
    const started = Date.now();
    try {
      await expect(
        fetchCommits(bare, [{ url: `http://127.0.0.1:${port}/o/r.git`, ref: 'refs/heads/main', into: 'refs/maestro/x', sha: 'a'.repeat(40) }], { timeoutMs: 800, protocols: ['http'] }),
      ).rejects.toThrow(`fetching refs/heads/main from http://127.0.0.1:${port}/o/r.git took longer than 1 s; redeliver the webhook once the repository answers`);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
