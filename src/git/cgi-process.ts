/**
 * Runs a CGI program for one HTTP request: the request body goes to its stdin as it arrives, its head
 * becomes the response's status and headers, and its body is streamed to the client as it is printed
 * (never buffered), so a push's `remote:` lines arrive while the hook works. When the client goes away
 * first, the program's whole process group is killed (http-backend, receive-pack and the hook).
 */
import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { errorMessage, type Logger } from '../common/index.js';
import { parseCgiHead } from './cgi-head.js';

export interface CgiInput {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The request body; none for a GET. */
  body?: Readable;
  response: ServerResponse;
  logger: Logger;
}

const KILL_GRACE_MS = 2_000;
const MAX_STDERR_CHARS = 4_096;

/** Resolves once the program has exited and the response is over (answered or cut off). */
export function serveCgi(input: CgiInput): Promise<void> {
  const { response, logger } = input;
  const child = spawn(input.command, input.args, { env: input.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  let head: Buffer | undefined = Buffer.alloc(0);
  let exited = false;

  const killGroup = (signal: NodeJS.Signals): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const fail = (status: number, message: string): void => {
    if (response.writableEnded) return;
    // Once the head is out, all that is left to say is that the answer stops here.
    if (response.headersSent) return void response.end();
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`${message}\n`);
  };

  response.on('close', () => {
    if (response.writableFinished) return;
    // The client went away mid-answer: nothing will read the rest, so stop the work behind it.
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
  });

  if (input.body) {
    input.body.pipe(child.stdin);
    input.body.on('error', () => killGroup('SIGTERM'));
  } else {
    child.stdin.end();
  }
  // The program may stop reading before the body ends (it refused the request); that is its answer.
  child.stdin.on('error', () => undefined);
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.toString();
  });

  child.stdout.on('data', (chunk: Buffer) => {
    if (head === undefined) return;
    head = Buffer.concat([head, chunk]);
    let parsed;
    try {
      parsed = parseCgiHead(head);
    } catch (error) {
      head = undefined;
      logger.error({ err: errorMessage(error) }, 'git http-backend answered with a bad head');
      fail(502, 'git http-backend gave a bad answer; see the server log');
      killGroup('SIGTERM');
      return;
    }
    if (!parsed) return;
    head = undefined;
    response.writeHead(parsed.head.status, Object.fromEntries(groupHeaders(parsed.head.headers)));
    response.flushHeaders();
    if (parsed.body.length > 0) response.write(parsed.body);
    child.stdout.pipe(response);
  });

  return new Promise((resolve) => {
    child.on('error', (error) => {
      exited = true;
      logger.error({ err: error.message, command: input.command }, 'cannot start git http-backend');
      fail(500, `Maestro cannot run git http-backend: ${error.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      exited = true;
      if (head !== undefined) {
        // Ended before it finished its head: nothing useful was said.
        if (!response.destroyed) logger.error({ code, signal, stderr: stderr.trim() }, 'git http-backend ended without an answer');
        fail(500, `git http-backend failed${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
      } else if (code !== 0 && stderr.trim()) {
        logger.warn({ code, signal, stderr: stderr.trim() }, 'git http-backend reported an error');
      }
      resolve();
    });
  });
}

/** Repeated header names become one list, as Node's writeHead wants them. */
function groupHeaders(headers: Array<[string, string]>): Map<string, string | string[]> {
  const grouped = new Map<string, string | string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const existing = grouped.get(key);
    grouped.set(key, existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]);
  }
  return grouped;
}
