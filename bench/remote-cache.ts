// `npm run bench:remote-cache`: how fast Maestro's remote cache for Turborepo and Nx moves artifacts,
// and what it saves a team.
//
// Maestro runs in this process (API, embedded database, the router as its own child process). Then:
// - throughput: PUT then GET of 200 artifacts of 100 KiB and 20 of 10 MiB (Turborepo's /v8/artifacts
//   routes), 4 at a time over keep-alive connections. Reported per size and direction: MB/s (10^6 bytes)
//   and operations/s over the whole phase's wall time, and the median time of one request. Every GET is
//   checked for its length; the server re-hashes each blob before it serves it, so GET includes that.
// - turbo: the same two-package workspace the client tests use, each build spending --build-ms of CPU.
//   After one run fills the cache, the second run is timed --runs times with every local cache removed:
//   with the remote cache (a full hit) and without it (everything rebuilt). Medians and their ratio.
//
// Options: --small 200 --large 20 --concurrency 4 --runs 3 --build-ms 1000. Takes about a minute.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { silentLogger } from '../src/common/index.js';
import { DEFAULT_OPTIONS, startMaestro, type RunningMaestro } from '../src/server/index.js';
import { clearLocal, createWorkspace, runTurbo } from '../test/remote-cache/workspace.js';
import { UNLIMITED } from './support.js';

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '200' },
    large: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
    'build-ms': { type: 'string', default: '1000' },
  },
});
const SMALL = positive('small', values.small);
const LARGE = positive('large', values.large);
const CONCURRENCY = positive('concurrency', values.concurrency);
const RUNS = positive('runs', values.runs);
const BUILD_MS = positive('build-ms', values['build-ms']);
const TEAM = 'bench';

function positive(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} takes a positive whole number, got "${value}"`);
  return number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface PhaseResult {
  label: string;
  count: number;
  bytes: number;
  wallMs: number;
  latencies: number[];
}

/** Runs `count` operations, `CONCURRENCY` at a time, timing each and the whole. */
async function phase(label: string, count: number, bytesEach: number, operation: (index: number) => Promise<void>): Promise<PhaseResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const begun = performance.now();
      await operation(index);
      latencies.push(performance.now() - begun);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
  return { label, count, bytes: count * bytesEach, wallMs: performance.now() - started, latencies };
}

async function throughput(pool: Pool, token: string, sizeLabel: string, size: number, count: number): Promise<PhaseResult[]> {
  // One buffer, with a per-artifact prefix so every artifact is its own blob (no deduplication).
  const base = randomBytes(size);
  const body = (index: number): Buffer => {
    const bytes = Buffer.from(base);
    bytes.writeUInt32BE(index, 0);
    return bytes;
  };
  const hash = (index: number): string => `${sizeLabel.replace(/\s/g, '')}-${index}`;
  const headers = { authorization: `Bearer ${token}` };
  const put = await phase(`PUT ${sizeLabel}`, count, size, async (index) => {
    const response = await pool.request({
      method: 'PUT',
      path: `/v8/artifacts/${hash(index)}?slug=${TEAM}`,
      headers: { ...headers, 'content-type': 'application/octet-stream', 'x-artifact-duration': '100' },
      body: body(index),
    });
    await response.body.dump();
    if (response.statusCode !== 202) throw new Error(`PUT ${hash(index)} answered ${response.statusCode}`);
  });
  const get = await phase(`GET ${sizeLabel}`, count, size, async (index) => {
    const response = await pool.request({ method: 'GET', path: `/v8/artifacts/${hash(index)}?slug=${TEAM}`, headers });
    let received = 0;
    for await (const chunk of response.body) received += (chunk as Buffer).length;
    if (response.statusCode !== 200 || received !== size) throw new Error(`GET ${hash(index)} answered ${response.statusCode} with ${received} bytes`);
  });
  return [put, get];
}

async function turboRuns(maestro: RunningMaestro, token: string): Promise<{ withRemote: number[]; without: number[] }> {
  const dir = await createWorkspace({ buildMs: BUILD_MS });
  const remote = { api: maestro.apiUrl, token, team: TEAM };
  try {
    const check = async (result: Promise<{ code: number; output: string; ms: number }>, hit: boolean): Promise<number> => {
      const { code, output, ms } = await result;
      if (code !== 0) throw new Error(`turbo failed:\n${output}`);
      if (hit !== output.includes('FULL TURBO')) throw new Error(`expected ${hit ? 'a full remote hit' : 'a rebuild'}, turbo said:\n${output}`);
      return ms;
    };
    await check(runTurbo(dir, remote), false);
    const withRemote: number[] = [];
    const without: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      await clearLocal(dir);
      withRemote.push(await check(runTurbo(dir, remote), true));
      await clearLocal(dir);
      without.push(await check(runTurbo(dir), false));
    }
    return { withRemote, without };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'maestro-bench-cache-'));
  // Throughput is what is measured here, not the API's rate limits.
  const maestro = await startMaestro({ ...DEFAULT_OPTIONS, apiPort: 0, routerPort: 0, routerAdminPort: 0, logger: silentLogger(), dataDir, rateLimits: UNLIMITED });
  const token = readFileSync(maestro.paths.adminToken, 'utf8').trim();
  const pool = new Pool(maestro.apiUrl, { connections: CONCURRENCY });
  try {
    console.log(`remote cache throughput (${CONCURRENCY} concurrent requests, MB = 10^6 bytes)`);
    const phases = [
      ...(await throughput(pool, token, '100 KiB', 100 * 1024, SMALL)),
      ...(await throughput(pool, token, '10 MiB', 10 * 1024 * 1024, LARGE)),
    ];
    for (const result of phases) {
      const mbPerSecond = result.bytes / 1e6 / (result.wallMs / 1000);
      const opsPerSecond = result.count / (result.wallMs / 1000);
      console.log(
        `  ${result.label.padEnd(12)} x${String(result.count).padEnd(4)} ${mbPerSecond.toFixed(1).padStart(8)} MB/s ${opsPerSecond.toFixed(1).padStart(8)} ops/s   median ${median(result.latencies).toFixed(1)} ms per request`,
      );
    }

    console.log(`\nturbo: second run of a 2-package workspace (${BUILD_MS} ms of build per package), local caches removed, median of ${RUNS}`);
    const { withRemote, without } = await turboRuns(maestro, token);
    const hit = median(withRemote);
    const miss = median(without);
    console.log(`  with Maestro's remote cache  ${hit.toFixed(0).padStart(6)} ms   (${withRemote.map((ms) => ms.toFixed(0)).join(', ')})`);
    console.log(`  without a remote cache       ${miss.toFixed(0).padStart(6)} ms   (${without.map((ms) => ms.toFixed(0)).join(', ')})`);
    console.log(`  ratio                        ${(miss / hit).toFixed(1)}x faster with the remote cache`);
  } finally {
    await pool.close();
    await maestro.stop({ stopApps: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
