/** The git remote's pure parts: parsers and decisions, with property tests where input comes from outside. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/common/index.js';
import { basicCredentials } from '../../src/git/basic-auth.js';
import { httpBackendEnvironment } from '../../src/git/cgi-environment.js';
import { parseCgiHead } from '../../src/git/cgi-head.js';
import { decideGitAccess } from '../../src/git/git-access.js';
import type { Principal } from '../../src/identity/index.js';
import { parseGitRequest } from '../../src/git/git-request.js';
import { sayLines, verdictLine } from '../../src/git/hook-protocol.js';
import { intentsFromRefUpdates, parseRefUpdates, type GitIntent, type RefUpdate } from '../../src/git/index.js';
import { gitRepositoryPath } from '../../src/git/repositories.js';

const ZERO = '0'.repeat(40);
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const sha = fc.oneof(hex(40), hex(64)).filter((value) => !/^0+$/.test(value));
const shaOrZero = fc.oneof({ weight: 3, arbitrary: sha }, { weight: 1, arbitrary: fc.constant(ZERO) });
const refPart = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((part) => !part.startsWith('.') && !part.endsWith('.lock'));
const refName = fc.array(refPart, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const ref = fc.oneof(
  refName.map((name) => `refs/heads/${name}`),
  refName.map((name) => `refs/tags/${name}`),
  refName.map((name) => `refs/notes/${name}`),
  fc.integer({ min: 1, max: 9999 }).map((number) => `refs/pull/${number}/head`),
);
const update: fc.Arbitrary<RefUpdate> = fc
  .record({ ref, oldSha: shaOrZero, newSha: shaOrZero })
  .filter((value) => !(value.oldSha === ZERO && value.newSha === ZERO));
const projectName = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);

describe('ref updates from the hook', () => {
  it('any list of updates written as git writes them parses back unchanged, whatever the line endings and blank lines', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), (updates, newline, blankLines) => {
        const text = updates.map((u) => `${u.oldSha} ${u.newSha} ${u.ref}`).join(blankLines ? `${newline}${newline}` : newline) + newline;
        expect(parseRefUpdates(text)).toEqual(updates);
      }),
    );
  });

  it('refuses a line that is not <old> <new> <ref>, naming the line', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 3 }), fc.string({ minLength: 1, maxLength: 80 }).filter((line) => line.trim() !== '' && !line.includes('\n')), (updates, junk) => {
        const lines = [...updates.map((u) => `${u.oldSha} ${u.newSha} ${u.ref}`), junk];
        const parsed = (() => {
          try {
            return parseRefUpdates(lines.join('\n'));
          } catch (error) {
            expect(error).toBeInstanceOf(MaestroError);
            expect((error as Error).message).toContain(`line ${lines.length}`);
            return undefined;
          }
        })();
        // Junk that happens to be a valid line is a valid line.
        if (parsed) expect(parsed).toHaveLength(lines.length);
      }),
    );
    expect(() => parseRefUpdates(`${'a'.repeat(40)} ${'b'.repeat(40)}`)).toThrow(/line 1/);
    expect(() => parseRefUpdates(`${'a'.repeat(39)} ${'b'.repeat(40)} refs/heads/main`)).toThrow(/line 1/);
  });
});

describe('intents from ref updates', () => {
  it('branches become branch_updated or branch_deleted, pushed tags tag_pushed, everything else nothing, in order', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 10 }), (updates) => {
        const intents = intentsFromRefUpdates(updates);
        const expected = updates.flatMap((u): GitIntent[] => {
          if (u.ref.startsWith('refs/heads/')) {
            const branch = u.ref.slice('refs/heads/'.length);
            if (u.newSha === ZERO) return [{ kind: 'branch_deleted', branch }];
            return [{ kind: 'branch_updated', branch, sha: u.newSha, ...(u.oldSha === ZERO ? {} : { beforeSha: u.oldSha }) }];
          }
          if (u.ref.startsWith('refs/tags/') && u.newSha !== ZERO) return [{ kind: 'tag_pushed', tag: u.ref.slice('refs/tags/'.length), sha: u.newSha }];
          return [];
        });
        expect(intents).toEqual(expected);
      }),
    );
  });

  it('marks a moved branch forced exactly when the caller says so, and never a new branch', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 10 }), fc.func(fc.boolean()), (updates, forced) => {
        const intents = intentsFromRefUpdates(updates, (u) => forced(u.ref));
        const moved = updates.filter((u) => u.ref.startsWith('refs/heads/') && u.newSha !== ZERO);
        const updated = intents.filter((intent) => intent.kind === 'branch_updated');
        expect(updated).toHaveLength(moved.length);
        updated.forEach((intent, index) => {
          const source = moved[index]!;
          if (source.oldSha === ZERO) expect(intent).not.toHaveProperty('forced');
          else expect(intent.forced).toBe(forced(source.ref));
        });
      }),
    );
  });

  it('reads the usual pushes', () => {
    const [a, b] = ['a'.repeat(40), 'b'.repeat(40)];
    expect(
      intentsFromRefUpdates([
        { ref: 'refs/heads/main', oldSha: a, newSha: b },
        { ref: 'refs/heads/feature/x', oldSha: ZERO, newSha: b },
        { ref: 'refs/heads/old', oldSha: a, newSha: ZERO },
        { ref: 'refs/tags/v1.0.0', oldSha: ZERO, newSha: a },
        { ref: 'refs/tags/v0.9', oldSha: a, newSha: ZERO },
        { ref: 'refs/notes/commits', oldSha: ZERO, newSha: a },
      ], (u) => u.ref === 'refs/heads/main'),
    ).toEqual([
      { kind: 'branch_updated', branch: 'main', sha: b, beforeSha: a, forced: true },
      { kind: 'branch_updated', branch: 'feature/x', sha: b },
      { kind: 'branch_deleted', branch: 'old' },
      { kind: 'tag_pushed', tag: 'v1.0.0', sha: a },
    ]);
  });
});

describe('HTTP Basic credentials', () => {
  it('gives back any user (without a colon) and any password, colons included', () => {
    fc.assert(
      fc.property(fc.string().filter((user) => !user.includes(':')), fc.string(), (user, password) => {
        const header = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        expect(basicCredentials(header)).toEqual({ user, password });
      }),
    );
  });

  it('has none for a missing, bearer or malformed header', () => {
    expect(basicCredentials(undefined)).toBeUndefined();
    expect(basicCredentials('Bearer mae_abc')).toBeUndefined();
    expect(basicCredentials(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(basicCredentials('Basic !!!')).toBeUndefined();
  });
});

describe('CGI heads', () => {
  const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((name) => name.toLowerCase() !== 'status');
  const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((value) => value.trim());

  it('splits head and body wherever the output is cut, with LF or CRLF lines', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 0, max: 1000 }),
        (status, headers, body, newline, cutAt) => {
          const lines = [...(status === undefined ? [] : [`Status: ${status} Whatever`]), ...headers.map(([name, value]) => `${name}: ${value}`)];
          const head = Buffer.from(lines.map((line) => line + newline).join('') + newline);
          const output = Buffer.concat([head, Buffer.from(body)]);
          const cut = Math.min(cutAt, output.length);
          const partial = parseCgiHead(output.subarray(0, cut));
          if (cut < head.length) expect(partial).toBeUndefined();
          const parsed = parseCgiHead(output);
          expect(parsed?.head).toEqual({ status: status ?? 200, headers });
          expect(Buffer.compare(parsed!.body, Buffer.from(body))).toBe(0);
        },
      ),
    );
  });

  it('refuses a head that never ends or has a bad line', () => {
    expect(() => parseCgiHead(Buffer.alloc(70 * 1024, 'a'))).toThrow(/without ending its headers/);
    expect(() => parseCgiHead(Buffer.from('no colon here\n\n'))).toThrow(/without a name/);
    expect(() => parseCgiHead(Buffer.from('Status: nope\n\n'))).toThrow(/bad status/);
  });
});

describe('git request paths', () => {
  it('maps any project to its repository path, with or without .git, and tells pushes from fetches', () => {
    fc.assert(
      fc.property(projectName, fc.boolean(), (project, suffix) => {
        const repo = suffix ? `${project}.git` : project;
        expect(parseGitRequest(repo, 'info/refs', 'git-receive-pack')).toEqual({ project, pathInfo: `/${project}.git/info/refs`, operation: 'push', receivePack: false });
        expect(parseGitRequest(repo, 'git-receive-pack', undefined)).toEqual({ project, pathInfo: `/${project}.git/git-receive-pack`, operation: 'push', receivePack: true });
        expect(parseGitRequest(repo, 'info/refs', 'git-upload-pack').operation).toBe('fetch');
        expect(parseGitRequest(repo, 'git-upload-pack', undefined).operation).toBe('fetch');
        expect(parseGitRequest(repo, 'HEAD', undefined).operation).toBe('fetch');
      }),
    );
  });

  it('refuses names that are not DNS labels and paths that climb, so nothing outside the git folder is reached', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        const valid = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name.replace(/\.git$/, ''));
        if (valid) return;
        expect(() => parseGitRequest(name, 'info/refs', undefined)).toThrow(/is not a project's repository/);
        expect(() => gitRepositoryPath('/data', name)).toThrow(/not valid/);
      }),
    );
    for (const rest of ['../other.git/info/refs', 'objects/../../x', '', 'a//b', './HEAD']) {
      expect(() => parseGitRequest('hello.git', rest, undefined)).toThrow(/no such path/);
    }
    expect(gitRepositoryPath('/data', 'hello')).toBe('/data/git/hello.git');
  });
});

describe('who may push and fetch', () => {
  const ORG = 'org_default';
  const hello = { organisationId: ORG, projectId: 'prj_hello', projectName: 'hello' };
  const base = { project: 'hello', target: hello, projectExists: true, repositoryExists: true };
  const token = (role: string, projectId?: string): Principal => ({
    kind: 'token',
    name: 't',
    organisationId: ORG,
    grants: [{ role, organisationId: ORG, ...(projectId ? { projectId } : {}) }],
  });

  it('lets any role with project:view fetch an existing repository, and says to push first when there is none', () => {
    expect(decideGitAccess({ ...base, operation: 'fetch', principal: token('viewer') })).toMatchObject({ allowed: true });
    expect(decideGitAccess({ ...base, operation: 'fetch', principal: token('cache-reader') })).toMatchObject({ allowed: true });
    const none = decideGitAccess({ ...base, operation: 'fetch', principal: token('owner'), repositoryExists: false });
    expect(none.allowed).toBe(false);
    if (!none.allowed) expect(none.error.httpStatus).toBe(404);
    const elsewhere = decideGitAccess({ ...base, operation: 'fetch', principal: token('owner', 'prj_other') });
    expect(elsewhere.allowed).toBe(false);
    if (!elsewhere.allowed) expect(elsewhere.error.message).toBe('project:view is needed on project hello; token "t" has role owner on project prj_other');
  });

  it('pushes with deploy:preview, and creates a project on a push only with project:create across the organisation', () => {
    const newProject = { ...base, target: { organisationId: ORG, projectName: 'hello' }, projectExists: false, repositoryExists: false };
    expect(decideGitAccess({ ...newProject, operation: 'push', principal: token('owner') })).toEqual({ allowed: true, createProject: true, createRepository: true });
    expect(decideGitAccess({ ...newProject, operation: 'push', principal: token('developer') })).toMatchObject({ allowed: true, createProject: true });
    expect(decideGitAccess({ ...base, operation: 'push', principal: token('developer', 'prj_hello'), repositoryExists: false })).toEqual({
      allowed: true,
      createProject: false,
      createRepository: true,
    });
    const scoped = decideGitAccess({ ...newProject, operation: 'push', principal: token('owner', 'prj_other') });
    expect(scoped.allowed).toBe(false);
    if (!scoped.allowed) expect(scoped.error.message).toMatch(/^deploy:preview is needed on project hello/);
    for (const role of ['viewer', 'cache-reader']) {
      const refused = decideGitAccess({ ...base, operation: 'push', principal: token(role) });
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) {
        expect(refused.error.httpStatus).toBe(403);
        expect(refused.error.message).toBe(`deploy:preview is needed on project hello; token "t" has role ${role} across the organisation`);
      }
    }
  });
});

describe('the hook protocol', () => {
  it('turns any message into say lines only, so no text can pass for a verdict', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (message) => {
        const lines = sayLines(message).split('\n');
        expect(lines.pop()).toBe('');
        for (const line of lines) expect(line.startsWith('say ')).toBe(true);
        expect(lines.map((line) => line.slice(4)).join('\n')).toBe(message.replace(/\r\n|\r/g, '\n'));
      }),
    );
    expect(sayLines('built\naccept')).toBe('say built\nsay accept\n');
    expect(verdictLine(true)).toBe('accept\n');
    expect(verdictLine(false)).toBe('refuse\n');
  });
});

describe('the CGI environment of http-backend', () => {
  it('carries the request as CGI variables, and leaves out the length of a chunked body', () => {
    const env = httpBackendEnvironment({
      projectRoot: '/data/git',
      pathInfo: '/hello.git/git-receive-pack',
      remoteUser: 'ci',
      request: {
        method: 'POST',
        url: '/git/hello.git/git-receive-pack?x=1&y=2',
        headers: { 'content-type': 'application/x-git-receive-pack-request', 'content-encoding': 'gzip', 'git-protocol': 'version=2', 'transfer-encoding': 'chunked' },
        remoteAddress: '127.0.0.1',
      },
    });
    expect(env).toMatchObject({
      GIT_PROJECT_ROOT: '/data/git',
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: '/hello.git/git-receive-pack',
      REQUEST_METHOD: 'POST',
      QUERY_STRING: 'x=1&y=2',
      CONTENT_TYPE: 'application/x-git-receive-pack-request',
      HTTP_CONTENT_ENCODING: 'gzip',
      GIT_PROTOCOL: 'version=2',
      REMOTE_USER: 'ci',
      REMOTE_ADDR: '127.0.0.1',
    });
    expect(env).not.toHaveProperty('CONTENT_LENGTH');
    const get = httpBackendEnvironment({ projectRoot: '/r', pathInfo: '/a.git/info/refs', remoteUser: 'u', request: { method: 'GET', url: '/git/a.git/info/refs', headers: { 'content-length': '0' }, remoteAddress: '::1' } });
    expect(get).toMatchObject({ QUERY_STRING: '', CONTENT_LENGTH: '0' });
  });
});
