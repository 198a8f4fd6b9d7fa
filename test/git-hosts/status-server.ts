/**
 * A local stand-in for GitHub's and GitLab's commit status APIs that holds every request to the shapes
 * their documentation gives (method, path, headers, body fields and allowed values) and answers as told.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusCall {
  provider: 'github' | 'gitlab';
  /** `owner/name` or the decoded GitLab path. */
  repository: string;
  sha: string;
  body: Record<string, unknown>;
  /** Anything the documented shape does not allow; empty when the request is right. */
  problems: string[];
  at: number;
  /** The answer it got. */
  status: number;
}

export interface StatusServer {
  /** API bases: GitHub Enterprise style and GitLab style, on this server. */
  githubUrl: string;
  gitlabUrl: string;
  calls: StatusCall[];
  close(): Promise<void>;
}

const GITHUB_STATES = ['error', 'failure', 'pending', 'success'];
const GITLAB_STATES = ['pending', 'running', 'success', 'failed', 'canceled'];

/** `answer(n, call)` picks the status (and headers) for the nth request (0-based). */
export async function startStatusServer(
  tokens: { github: string; gitlab: string },
  answer: (n: number, call: StatusCall) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 201 }),
): Promise<StatusServer> {
  const calls: StatusCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const problems: string[] = [];
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        problems.push(`body is not JSON: ${text.slice(0, 80)}`);
      }
      if (req.method !== 'POST') problems.push(`method ${req.method}`);
      if (!String(req.headers['content-type']).startsWith('application/json')) problems.push(`content-type ${req.headers['content-type']}`);
      if (!req.headers['user-agent']) problems.push('no user-agent (GitHub refuses requests without one)');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const github = /^\/github\/api\/v3\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname);
      const gitlab = /^\/gitlab\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname);
      let call: StatusCall;
      if (github) {
        call = { provider: 'github', repository: `${decodeURIComponent(github[1]!)}/${decodeURIComponent(github[2]!)}`, sha: github[3]!, body, problems, at: Date.now(), status: 0 };
        if (req.headers.authorization !== `Bearer ${tokens.github}`) problems.push(`authorization ${req.headers.authorization}`);
        if (req.headers.accept !== 'application/vnd.github+json') problems.push(`accept ${req.headers.accept}`);
        if (req.headers['x-github-api-version'] !== '2022-11-28') problems.push(`x-github-api-version ${req.headers['x-github-api-version']}`);
        for (const key of Object.keys(body)) if (!['state', 'target_url', 'description', 'context'].includes(key)) problems.push(`unknown field ${key}`);
        if (!GITHUB_STATES.includes(body.state as string)) problems.push(`state ${String(body.state)}`);
        if (typeof body.context !== 'string' || body.context === '') problems.push('no context');
      } else if (gitlab) {
        call = { provider: 'gitlab', repository: decodeURIComponent(gitlab[1]!), sha: gitlab[2]!, body, problems, at: Date.now(), status: 0 };
        if (gitlab[1]!.includes('/')) problems.push('the project path is not URL-encoded');
        if (req.headers['private-token'] !== tokens.gitlab) problems.push(`private-token ${req.headers['private-token']}`);
        for (const key of Object.keys(body)) if (!['state', 'name', 'target_url', 'description', 'ref', 'context', 'coverage', 'pipeline_id'].includes(key)) problems.push(`unknown field ${key}`);
        if (!GITLAB_STATES.includes(body.state as string)) problems.push(`state ${String(body.state)}`);
        if (typeof body.name !== 'string' || body.name === '') problems.push('no name');
      } else {
        call = { provider: 'github', repository: '', sha: '', body, problems: [...problems, `unknown path ${url.pathname}`], at: Date.now(), status: 0 };
      }
      if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 140)) problems.push(`description of ${String(body.description).length} characters`);
      if (body.target_url !== undefined && !/^https?:\/\//.test(String(body.target_url))) problems.push(`target_url ${String(body.target_url)}`);
      const reply = answer(calls.length, call);
      call.status = reply.status;
      calls.push(call);
      send(res, reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    githubUrl: `http://127.0.0.1:${port}/github/api/v3`,
    gitlabUrl: `http://127.0.0.1:${port}/gitlab/api/v4`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, reply: { status: number; headers?: Record<string, string>; body?: string }): void {
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  res.end(reply.body ?? (reply.status < 300 ? '{"id":1}' : '{"message":"unavailable"}'));
}
