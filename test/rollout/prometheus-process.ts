// A real Prometheus (Debian's /usr/bin/prometheus) scraping a Maestro router, for tests that need one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface PrometheusProcess {
  url: string;
  /** What Prometheus printed (warnings and errors), for failure messages. */
  readonly output: string;
  /** Kill it (SIGKILL: as a crash would), keeping its port and data. */
  kill(): Promise<void>;
  /** Start it again on the same port with the same data directory. */
  restart(): Promise<void>;
  /** Stop it and remove its data. */
  close(): Promise<void>;
}

/** Prometheus scraping `target` (host:port, /metrics) every second with a bearer token; on `port` or a free one. */
export async function startPrometheus(options: { target: string; token: string; port?: number }): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'maestro-prometheus-'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: maestro-router',
      '    scrape_interval: 1s',
      '    authorization:',
      `      credentials: ${options.token}`,
      '    static_configs:',
      `      - targets: ['${options.target}']`,
      '',
    ].join('\n'),
  );
  let output = '';
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('Prometheus to be ready', 20_000, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined));
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };
  await launch();
  return {
    url,
    get output() {
      return output;
    },
    kill: () => stop('SIGKILL'),
    restart: launch,
    async close() {
      await stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
