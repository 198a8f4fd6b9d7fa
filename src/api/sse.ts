import type { FastifyReply } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown, id?: number): void;
  end(): void;
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

/** Server-sent events over the raw response, with a heartbeat so proxies keep the stream open. */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(': stream open\n\n');
  let closed = false;
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), 15_000);
  const listeners: Array<() => void> = [];
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const listener of listeners) listener();
  };
  raw.on('close', close);
  return {
    send(event, data, id) {
      if (closed) return;
      raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (closed) return;
      close();
      raw.end();
    },
    onClose(listener) {
      listeners.push(listener);
    },
    get closed() {
      return closed;
    },
  };
}
