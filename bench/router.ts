// `npm run bench:router`: how much the router costs. A tiny node:http app and the router each run in their
// own process; the same closed-loop load (N connections, one request at a time each) hits the app directly,
// then through the router. Warm-up is excluded from the figures.
//
// Options: --warmup 5 --duration 10 --connections 32 (seconds, seconds, connections).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { createRouterClient } from '../src/router/index.js';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
  },
});
const WARMUP_MS = Number(values.warmup) * 1000;
const DURATION_MS = Number(values.duration) * 1000;
const CONNECTIONS = Number(values.connections);
const HOST = 'app.bench.router.localhost';

// Dependency-free on purpose: the app should cost as little as possible so the router's share shows.
const APP_SOURCE = `
const http = require('node:http');
const body = Buffer.from('hello from the app\\n');
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(0, '127.0.0.1', function () { console.log('READY ' + this.address().port); });
`;

const children: ChildProcess[] = [];
const killChildren = (): void => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc on Linux; undefined elsewhere.
 * Unlike requests/s, CPU per request barely moves when other work shares the machine.
 */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, in clock ticks of 10 ms on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Spawn a child and resolve with its pid and the numbers on its `READY ...` line. */
function startChild(args: string[]): Promise<{ pid: number | undefined; numbers: number[] }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MAESTRO_ROUTER_ACCESS_LOG: '0' } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const match = /^READY ([\d ]+)$/m.exec(output);
      if (match) resolve({ pid: child.pid, numbers: match[1]!.split(' ').map(Number) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${output}`)));
  });
}

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: Float64Array;
  /** CPU the proxying process used per request while measured, in µs. */
  cpuMicrosPerRequest?: number;
}

/** Closed-loop load: each connection sends its next request as soon as the previous answer has arrived. */
async function load(port: number, hostHeader: string, warmupMs: number, durationMs: number, serverPid: number | undefined): Promise<Result> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stopping = false;
  const worker = async (): Promise<void> => {
    while (!stopping) {
      const started = performance.now();
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: '/', headers: { host: hostHeader } });
        await body.dump();
        if (measuring) {
          if (statusCode === 200) latencies.push(performance.now() - started);
          else errors += 1;
        }
      } catch {
        if (measuring) errors += 1;
      }
    }
  };
  const workers = Array.from({ length: CONNECTIONS }, worker);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  const measuredFrom = performance.now();
  const cpuBefore = cpuMs(serverPid);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  measuring = false;
  const cpuAfter = cpuMs(serverPid);
  const seconds = (performance.now() - measuredFrom) / 1000;
  stopping = true;
  await Promise.all(workers);
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  const cpuMicrosPerRequest = cpuBefore !== undefined && cpuAfter !== undefined && latencies.length > 0 ? ((cpuAfter - cpuBefore) * 1000) / latencies.length : undefined;
  return { requests: latencies.length, errors, seconds, latenciesMs: sorted, cpuMicrosPerRequest };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'maestro-bench-router-'));
  try {
    const app = await startChild(['-e', APP_SOURCE]);
    const appPort = app.numbers[0]!;
    const routerMain = fileURLToPath(new URL('../src/router/main.ts', import.meta.url));
    const router = await startChild(['--import', 'tsx', routerMain, '--port', '0', '--admin-port', '0', '--state-file', join(stateDir, 'routes.json')]);
    const [routerPort, adminPort] = router.numbers as [number, number];
    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${adminPort}` });
    await client.putRoutes({
      version: 1,
      routes: [{ host: HOST, project: 'router', service: 'app', environment: 'bench', backends: [{ revision: 'r1', weight: 100, upstreams: [`127.0.0.1:${appPort}`] }] }],
    });
    await client.close();

    console.log(`router benchmark: ${CONNECTIONS} connections, ${WARMUP_MS / 1000} s warm-up (not counted), ${DURATION_MS / 1000} s measured, per target\n`);
    const direct = await load(appPort, `127.0.0.1:${appPort}`, WARMUP_MS, DURATION_MS, app.pid);
    const routed = await load(routerPort, HOST, WARMUP_MS, DURATION_MS, router.pid);

    const row = (name: string, result: Result): string[] => [
      name,
      (result.requests / result.seconds).toFixed(0),
      percentile(result.latenciesMs, 0.5).toFixed(2),
      percentile(result.latenciesMs, 0.99).toFixed(2),
      String(result.errors),
      result.cpuMicrosPerRequest === undefined ? 'n/a' : result.cpuMicrosPerRequest.toFixed(1),
    ];
    const rows = [['target', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req*'], row('app directly', direct), row('through router', routed)];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
    for (const cells of rows) console.log(cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('   '));
    const ratio = routed.requests / routed.seconds / (direct.requests / direct.seconds);
    const addedP50 = percentile(routed.latenciesMs, 0.5) - percentile(direct.latenciesMs, 0.5);
    const addedP99 = percentile(routed.latenciesMs, 0.99) - percentile(direct.latenciesMs, 0.99);
    console.log(`\nthroughput through the router: ${(ratio * 100).toFixed(1)}% of direct`);
    console.log(`latency added by the router: p50 ${addedP50 >= 0 ? '+' : ''}${addedP50.toFixed(2)} ms, p99 ${addedP99 >= 0 ? '+' : ''}${addedP99.toFixed(2)} ms`);
    console.log("\n* CPU of the process answering the load: the app when direct, the router when through it.");
    console.log("App, router and load generator share this machine's cores, so requests/s through the router also");
    console.log('pays for the extra process; CPU per request is the steadier figure of what the router itself costs.');
  } finally {
    killChildren();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    killChildren();
    process.exit(1);
  },
);
