import { connect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { acceptableRequestId, clientAddress, normalizeHost, upstreamRequestHeaders } from './headers.js';
import { badGatewayPage, gatewayTimeoutPage, noRoutePage, renderPage, unavailablePage, wantsJson, type RouterErrorPage } from './pages.js';
import type { ProxyContext } from './proxy.js';
import { REVISION_HEADER, parseUpstream, backendForRequest } from './select.js';
import type { UpgradedConnections } from './upgraded-connections.js';

/** How long a socket that got an error page in answer to its handshake may stay open for the client to close it. */
const RAW_ANSWER_LINGER_MS = 1_000;
/** Largest upstream handshake answer the router reads before giving up on it. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * Proxy an HTTP/1.1 Upgrade (WebSocket): choose the revision like any request (a sticky assignment rides
 * on the handshake answer), forward the request head to the upstream, tag its answer with the revision,
 * then copy bytes both ways until either side closes, or until the revision's connections are told to go away.
 */
export function handleUpgrade(context: ProxyContext, connections: UpgradedConnections, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  const host = normalizeHost(req.headers.host);
  const route = host === undefined ? undefined : context.lookup(host);
  const json = wantsJson(req.headers.accept);
  if (!route) {
    context.metrics.countUnrouted('no_route');
    writeRawPage(client, noRoutePage(host), json);
    return;
  }
  const routing = backendForRequest(route, req.headers);
  if (!routing) {
    context.metrics.countUnrouted('unavailable');
    writeRawPage(client, unavailablePage(route.host, route.unavailableReason), json, { 'retry-after': '1' });
    return;
  }
  const { backend } = routing;
  const labels = { project: route.project, service: route.service, environment: route.environment, revision: backend.revision };
  const headers = upstreamRequestHeaders(
    req.headers,
    { requestId: acceptableRequestId(req.headers['x-request-id']) ?? randomUUID(), clientAddress: clientAddress(req.socket.remoteAddress), originalHost: req.headers.host },
    true,
  );
  const requestHead = serializeRequestHead(req.method ?? 'GET', req.url ?? '/', headers);

  const attempt = (upstream: string, retried: boolean): void => {
    const upstreamSocket = connect({ ...parseUpstream(upstream), noDelay: true });
    let connected = false;
    let switched = false;
    const timer = setTimeout(() => {
      upstreamSocket.destroy();
      writeRawPage(client, gatewayTimeoutPage(route.host, backend.revision, context.upstreamTimeoutMs), json);
    }, context.upstreamTimeoutMs);

    upstreamSocket.once('connect', () => {
      connected = true;
      upstreamSocket.write(requestHead);
      if (head.length > 0) upstreamSocket.write(head);
    });
    upstreamSocket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Once switched, the connection's close handling ends the client's side.
      if (switched) return;
      const other = backend.upstreams.find((candidate) => candidate !== upstream);
      if (!connected && !retried && other !== undefined && !client.destroyed) {
        attempt(other, true);
        return;
      }
      writeRawPage(client, badGatewayPage(route.host, backend.revision, error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message)), json);
    });

    readResponseHead(upstreamSocket, (responseHead, rest) => {
      clearTimeout(timer);
      if (responseHead === undefined) {
        upstreamSocket.destroy();
        writeRawPage(client, badGatewayPage(route.host, backend.revision, 'no valid handshake answer'), json);
        return;
      }
      switched = true;
      let answerHead = injectHeader(responseHead, REVISION_HEADER, backend.revision);
      if (routing.setCookie !== undefined) answerHead = injectHeader(answerHead, 'set-cookie', routing.setCookie);
      client.write(answerHead);
      const headText = responseHead.toString('latin1');
      // Only a 101 opens a WebSocket; a refusal (400, 401...) is passed through and the sockets close after it.
      const switchedProtocols = /^HTTP\/1\.[01] 101 /.test(headText);
      connections.track({
        revision: backend.revision,
        upstreamAddress: upstream,
        switched: switchedProtocols,
        client,
        upstream: upstreamSocket,
        websocket: switchedProtocols && /\r\nupgrade:[ \t]*websocket[ \t]*\r\n/i.test(headText),
        sentToUpstream: head,
        pendingToClient: rest,
        onClosed: switchedProtocols ? context.metrics.websocketOpened(labels) : () => {},
      });
    });
    // The client gave up during the handshake.
    client.once('close', () => {
      if (!switched) {
        clearTimeout(timer);
        upstreamSocket.destroy();
      }
    });
  };

  attempt(context.rotation.next(backend)!, false);
}

function serializeRequestHead(method: string, url: string, headers: OutgoingHttpHeaders): string {
  let text = `${method} ${url} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${item}\r\n`;
  }
  return `${text}\r\n`;
}

/** Buffer the upstream's answer until its header block ends; hand over the head and any bytes after it. */
function readResponseHead(socket: Socket, onHead: (head: Buffer | undefined, rest: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buffered.length > MAX_RESPONSE_HEAD) finish(undefined, Buffer.alloc(0));
      return;
    }
    finish(buffered.subarray(0, end + 4), buffered.subarray(end + 4));
  };
  const finish = (head: Buffer | undefined, rest: Buffer): void => {
    socket.off('data', onData);
    socket.pause();
    onHead(head, rest);
  };
  socket.on('data', onData);
}

/** Add a header line just before the blank line that ends a response head. */
function injectHeader(head: Buffer, name: string, value: string): Buffer {
  return Buffer.concat([head.subarray(0, head.length - 2), Buffer.from(`${name}: ${value}\r\n\r\n`)]);
}

function writeRawPage(socket: Duplex, page: RouterErrorPage, json: boolean, extra: Record<string, string> = {}): void {
  if (socket.destroyed || socket.writableEnded) return;
  const { contentType, body } = renderPage(page, json);
  const reason = { 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[page.status] ?? 'Error';
  const lines = [
    `HTTP/1.1 ${page.status} ${reason}`,
    `content-type: ${contentType}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  // Nothing reads an upgrade socket on its own: drop what the client still sends so its end closes the
  // socket, and close it anyway shortly after the answer is out for a client that never ends.
  socket.resume();
  socket.once('finish', () => setTimeout(() => socket.destroy(), RAW_ANSWER_LINGER_MS).unref());
}
