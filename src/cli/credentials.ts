import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { MaestroError } from '../common/index.js';
import { dataPaths, resolveDataDir, DEFAULT_OPTIONS } from '../server/index.js';

export interface Credentials {
  url: string;
  token: string;
  source: 'environment' | 'login' | 'local data directory';
}

export function configFile(): string {
  const base = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
  return join(base, 'maestro', 'config.json');
}

export function saveLogin(url: string, token: string): string {
  const file = configFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ url, token }, null, 2) + '\n', { mode: 0o600 });
  return file;
}

/**
 * Where the server is and which token to use: MAESTRO_URL / MAESTRO_TOKEN, else `maestro login`'s
 * config file, else a local server's data directory (its admin token).
 */
export function resolveCredentials(): Credentials {
  const envUrl = process.env.MAESTRO_URL;
  const envToken = process.env.MAESTRO_TOKEN;
  if (envToken) return { url: envUrl ?? localUrl(), token: envToken, source: 'environment' };

  const file = configFile();
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { url?: string; token?: string };
      if (saved.token) return { url: envUrl ?? saved.url ?? localUrl(), token: saved.token, source: 'login' };
    } catch {
      throw new MaestroError('validation_error', `${file} is not valid JSON; run \`maestro login\` again`);
    }
  }
  const tokenFile = dataPaths(resolveDataDir()).adminToken;
  if (existsSync(tokenFile)) {
    return { url: envUrl ?? localUrl(), token: readFileSync(tokenFile, 'utf8').trim(), source: 'local data directory' };
  }
  throw new MaestroError(
    'unauthorized',
    `no API token: set MAESTRO_TOKEN, run \`maestro login\`, or run this where \`maestro up\` keeps its data (${tokenFile} not found)`,
  );
}

/** A local server records its API port in the data directory; default 7070. */
function localUrl(): string {
  const paths = dataPaths(resolveDataDir());
  try {
    const info = JSON.parse(readFileSync(paths.controlPlanePid, 'utf8')) as { apiPort?: number };
    if (info.apiPort) return `http://127.0.0.1:${info.apiPort}`;
  } catch {
    // not running here, or not yet
  }
  return `http://127.0.0.1:${DEFAULT_OPTIONS.apiPort}`;
}
