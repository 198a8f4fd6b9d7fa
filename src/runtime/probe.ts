import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthSpec } from './types.js';

export type ProbeFailureKind = 'refused' | 'timeout' | 'status' | 'error';

export type ProbeResult =
  | { ok: true; status?: number }
  | { ok: false; kind: ProbeFailureKind; status?: number; message: string };

/**
 * One health probe of a replica on 127.0.0.1. With a path: GET it, 2xx and 3xx pass. Without one: the
 * port accepting a connection passes (any HTTP answer needs that connection first, so it is the same test).
 */
export function probeReplica(port: number, health: Pick<HealthSpec, 'path' | 'timeoutMs'>): Promise<ProbeResult> {
  return health.path === undefined ? probeTcp(port, health.timeoutMs) : probeHttp(port, health.path, health.timeoutMs);
}

function failure(error: unknown, port: number): ProbeResult {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return { ok: false, kind: 'refused', message: `connection refused on port ${port}` };
  if (code === 'ECONNRESET') return { ok: false, kind: 'error', message: `connection reset on port ${port}` };
  return { ok: false, kind: 'error', message: `probe on port ${port} failed: ${(error as Error).message}` };
}

function probeTcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, kind: 'timeout', message: `port ${port} did not accept a connection within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve(failure(error, port));
    });
  });
}

function probeHttp(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'maestro-health-check', connection: 'close' },
    });
    const timer = setTimeout(() => {
      settle({ ok: false, kind: 'timeout', message: `health check GET ${path} did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.once('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 400) settle({ ok: true, status });
      else settle({ ok: false, kind: 'status', status, message: `health check GET ${path} answered ${status}` });
    });
    req.once('error', (error) => settle(failure(error, port)));
    req.end();
  });
}
