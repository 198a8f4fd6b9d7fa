import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'undici';
import { MaestroError, type ErrorCode } from '../common/index.js';
import type { Credentials } from './credentials.js';

/** The CLI's only way to the server: JSON over HTTP with the bearer token; API errors become MaestroErrors. */
export class ApiClient {
  constructor(private readonly credentials: Credentials) {}

  get url(): string {
    return this.credentials.url;
  }

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return (await this.exchange<T>(method, path, body, headers)).body;
  }

  /** Like `call`, with the answer's headers (a login's Set-Cookie). */
  async exchange<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: T; headers: Record<string, string | string[] | undefined> }> {
    const response = await this.send(method, path, {
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    });
    return { body: (await this.read(response)) as T, headers: response.headers };
  }

  async exists(path: string): Promise<boolean> {
    const response = await this.send('HEAD', path, {});
    await response.body.dump();
    return response.statusCode === 200;
  }

  async uploadFile<T>(path: string, file: string): Promise<T> {
    const { size } = await stat(file);
    const response = await this.send('POST', path, {
      body: createReadStream(file),
      headers: { 'content-type': 'application/gzip', 'content-length': String(size) },
    });
    return (await this.read(response)) as T;
  }

  /** A streaming GET (server-sent events or NDJSON): yields lines as they arrive. */
  async *lines(path: string, signal?: AbortSignal): AsyncGenerator<string> {
    const response = await this.send('GET', path, { headers: { accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
    if (response.statusCode >= 400) await this.read(response);
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += chunk.toString();
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        yield buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
      }
    }
    if (buffer) yield buffer;
  }

  private async send(
    method: string,
    path: string,
    options: { body?: string | NodeJS.ReadableStream; headers?: Record<string, string>; signal?: AbortSignal },
  ) {
    try {
      return await request(`${this.credentials.url}${path}`, {
        method: method as 'GET',
        // Without a token (logging in), a session cookie in `headers` speaks for the caller.
        headers: { ...(this.credentials.token ? { authorization: `Bearer ${this.credentials.token}` } : {}), ...options.headers },
        ...(options.body === undefined ? {} : { body: options.body as string }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (code === 'ECONNREFUSED') {
        throw new MaestroError('unavailable', `cannot reach Maestro at ${this.credentials.url}: is \`maestro up\` running?`);
      }
      throw error;
    }
  }

  private async read(response: Awaited<ReturnType<typeof request>>): Promise<unknown> {
    const text = await response.body.text();
    const body = text ? safeJson(text) : undefined;
    if (response.statusCode >= 400) {
      const error = (body as { error?: { code?: ErrorCode; message?: string; details?: unknown } } | undefined)?.error;
      throw new MaestroError(error?.code ?? 'internal', error?.message ?? `the server answered ${response.statusCode}`, error?.details);
    }
    return body;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'internal', message: text.slice(0, 500) } };
  }
}
