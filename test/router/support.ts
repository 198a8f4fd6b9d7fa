// Real sockets for the router's tests: small upstream apps, a request function that sets Host, and a
// minimal WebSocket handshake and framing (Node 20 has no WebSocket server or global client).
import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Route, RouteTable } from '../../src/router/index.js';

export interface Upstream {
  name: string;
  port: number;
  address: string;
  server: Server;
  /** TCP connections the app has accepted so far. */
  connections: () => number;
  /** Requests the app has seen so far. */
  requests: IncomingMessage[];
  close: () => Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An app that answers `{revision, method, url, headers, body}` as JSON, unless given its own handler. */
export async function startUpstream(name: string, handler?: Handler): Promise<Upstream> {
  let connections = 0;
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    if (handler) {
      handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = Buffer.concat(chunks).toString('utf8');
      const body = JSON.stringify({ revision: name, method: req.method, url: req.url, headers: req.headers, body: received });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    server,
    connections: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound then released), for "connection refused". */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

export function route(host: string, backends: Backend[], extra: Partial<Route> = {}): Route {
  const [service = 'web', environment = 'production', project = 'shop'] = host.split('.');
  return { host, project, service, environment, backends, ...extra };
}

export function table(version: number, routes: Route[]): RouteTable {
  return { version, routes };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One HTTP request to the router with a given Host header. */
export function send(
  port: number,
  host: string,
  options: { path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: options.agent ?? keepAliveAgent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `condition` until it holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A temporary folder removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'maestro-router-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** Let an upstream app accept WebSockets and echo each text frame back, prefixed with its name. */
export function acceptWebSockets(upstream: Upstream): void {
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    // Upgraded sockets of an http.Server allow half-open connections: close our side when the peer does.
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const frame = decodeFrame(buffered);
        if (!frame) return;
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          socket.end(encodeFrame(Buffer.alloc(0), false, 0x8));
          return;
        }
        socket.write(encodeFrame(Buffer.from(`${upstream.name}:${frame.payload.toString('utf8')}`), false));
      }
    });
  });
}

/** Encode one final frame; clients must mask, servers must not. */
export function encodeFrame(payload: Buffer, masked: boolean, opcode = 0x1): Buffer {
  const lengthBytes = payload.length < 126 ? Buffer.from([payload.length]) : Buffer.from([126, payload.length >> 8, payload.length & 0xff]);
  const first = Buffer.from([0x80 | opcode]);
  if (!masked) return Buffer.concat([first, lengthBytes, payload]);
  lengthBytes[0]! |= 0x80;
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  return Buffer.concat([first, lengthBytes, mask, body]);
}

export function decodeFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  }
  const maskBytes = masked ? 4 : 0;
  if (buffer.length < offset + maskBytes + length) return undefined;
  let payload = buffer.subarray(offset + maskBytes, offset + maskBytes + length);
  if (masked) {
    const mask = buffer.subarray(offset, offset + 4);
    payload = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  }
  return { opcode, payload, length: offset + maskBytes + length };
}

export interface WebSocketClient {
  status: number;
  responseHead: string;
  send(text: string): void;
  receive(): Promise<string>;
  close(): void;
  socket: Socket;
  /** Resolves when the connection has closed, with the code of the close frame the other side sent, if any. */
  ended: Promise<{ closeCode?: number; closeReason?: string }>;
}

/** Open a WebSocket through the router with a raw handshake over net.Socket. */
export function openWebSocket(port: number, host: string, path = '/socket', headers: Record<string, string> = {}): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const key = randomBytes(16).toString('base64');
    let buffered = Buffer.alloc(0);
    const waiting: Array<(text: string) => void> = [];
    const messages: string[] = [];
    let handshakeDone = false;
    let closing: { closeCode?: number; closeReason?: string } = {};
    const ended = new Promise<{ closeCode?: number; closeReason?: string }>((resolveEnded) => socket.once('close', () => resolveEnded(closing)));
    socket.on('error', reject);
    socket.on('connect', () => {
      const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!handshakeDone) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const responseHead = buffered.subarray(0, end).toString('latin1');
        buffered = buffered.subarray(end + 4);
        handshakeDone = true;
        const status = Number(responseHead.split(' ')[1]);
        resolve({
          status,
          responseHead,
          socket,
          send: (text) => socket.write(encodeFrame(Buffer.from(text), true)),
          receive: () =>
            new Promise((resolveMessage) => {
              const next = messages.shift();
              if (next !== undefined) resolveMessage(next);
              else waiting.push(resolveMessage);
            }),
          close: () => socket.end(encodeFrame(Buffer.alloc(0), true, 0x8)),
          ended,
        });
      }
      for (;;) {
        const frame = decodeFrame(buffered);
        if (!frame) return;
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          closing = frame.payload.length >= 2 ? { closeCode: frame.payload.readUInt16BE(0), closeReason: frame.payload.subarray(2).toString('utf8') } : {};
          // Answer the close like a browser does, then the server ends the connection.
          if (socket.writable) socket.end(encodeFrame(Buffer.alloc(0), true, 0x8));
          continue;
        }
        const text = frame.payload.toString('utf8');
        const waiter = waiting.shift();
        if (waiter) waiter(text);
        else messages.push(text);
      }
    });
  });
}
