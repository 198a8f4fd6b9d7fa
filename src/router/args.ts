import { parseArgs } from 'node:util';
import { MaestroError, parseDuration } from '../common/index.js';
import type { RouterProcessOptions } from './process.js';

const USAGE = 'usage: router --port <port> --admin-port <port> --state-file <path> [--host 127.0.0.1|0.0.0.0] [--upstream-timeout 60s]';

function parsePort(value: string | undefined, flag: string): number {
  const port = Number(value);
  if (value === undefined || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new MaestroError('validation_error', `--${flag} wants a port from 0 to 65535 (0 picks a free one), got ${value ?? 'nothing'}.\n${USAGE}`);
  }
  return port;
}

/** The router process's command line; throws with the usage when something is missing or wrong. */
export function parseRouterArgs(argv: string[]): RouterProcessOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      'state-file': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'upstream-timeout': { type: 'string' },
    },
    strict: true,
  });
  const stateFile = values['state-file'];
  if (!stateFile) throw new MaestroError('validation_error', `--state-file is required: the file where route tables are saved.\n${USAGE}`);
  if (values.host !== '127.0.0.1' && values.host !== '0.0.0.0') {
    throw new MaestroError('validation_error', `--host is 127.0.0.1 (this machine only) or 0.0.0.0 (every interface), got ${values.host}.`);
  }
  let upstreamTimeoutMs: number | undefined;
  if (values['upstream-timeout'] !== undefined) {
    upstreamTimeoutMs = parseDuration(values['upstream-timeout']);
    if (upstreamTimeoutMs === undefined || upstreamTimeoutMs <= 0) {
      throw new MaestroError('validation_error', `--upstream-timeout wants a duration such as 30s or 2m, got ${values['upstream-timeout']}.`);
    }
  }
  return {
    port: parsePort(values.port, 'port'),
    adminPort: parsePort(values['admin-port'], 'admin-port'),
    host: values.host,
    stateFile,
    upstreamTimeoutMs,
  };
}
