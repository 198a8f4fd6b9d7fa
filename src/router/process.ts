import pino from 'pino';
import { startRouter, type RouterHandle } from './server.js';

export interface RouterProcessOptions {
  port: number;
  adminPort: number;
  host?: '127.0.0.1' | '0.0.0.0';
  stateFile: string;
  upstreamTimeoutMs?: number;
}

/** How long SIGTERM waits for in-flight requests before closing what is left. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Run the router as its own process: log to stdout, print `READY <port> <adminPort>` once listening (so
 * a parent can wait for it), and on SIGTERM/SIGINT stop accepting, finish in-flight requests and exit 0.
 * The admin token comes from MAESTRO_ROUTER_TOKEN, access logging from MAESTRO_ROUTER_ACCESS_LOG=1.
 */
export async function runRouterProcess(options: RouterProcessOptions): Promise<RouterHandle> {
  const accessLog = process.env.MAESTRO_ROUTER_ACCESS_LOG === '1';
  // Lifecycle lines are rare and must survive a crash, so they are written synchronously. With the access
  // log on, a line per request would make every request wait on stdout: write asynchronously instead
  // (pino flushes what is buffered when the process exits).
  const destination = pino.destination({ dest: 1, sync: !accessLog });
  const logger = pino({ level: 'info', base: { component: 'router', pid: process.pid } }, destination);
  const handle = await startRouter({ ...options, logger, accessLog });
  process.stdout.write(`READY ${handle.port} ${handle.adminPort}\n`);

  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal, inFlight: handle.inFlight() }, 'router shutting down');
    handle.close({ graceMs: SHUTDOWN_GRACE_MS }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'router shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return handle;
}
