// `npm run bench:push`: how long a developer waits between `git push` and their preview answering.
//
// Maestro runs in this process (API, control plane, embedded database; router and apps as its children).
// A git repository holding examples/node-express (Express from the npm registry, installed by `npm ci`)
// is pushed with a stock git client to Maestro's git remote, each time to a branch other than the
// production branch, so each push deploys a preview at api.<branch>.<project>.localhost. The clock
// runs from starting `git push` until the preview answers through the router with the pushed content
// (the push itself waits for the deploy, as `git push heroku` does; the answer is checked after it).
//
//   cold:  the first push of a branch (a fresh preview; the dependency cache is empty: npm ci runs)
//   warm:  a one-file change pushed to the same branch (the dependencies come from the cache)
//   reuse: the same commit pushed to a new branch (a new preview; the build is reused whole)
//
// Targets: warm <= 10 s and reuse <= 2 s (medians). Exit status 1 when one is missed.
// Options: --runs 3 (each run is a cold, a warm and a reuse push on a fresh Maestro).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { median, now, positive, runBench, seconds, sleep, startBenchMaestro, table } from './support.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = positive('runs', values.runs);
const PROJECT = 'pushbench';
const EXAMPLE = fileURLToPath(new URL('../examples/node-express', import.meta.url));
const WARM_TARGET_MS = 10_000;
const REUSE_TARGET_MS = 2_000;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

/** `git push`, waiting for the deploy; rejects with git's output when the push is refused. */
function push(cwd: string, ...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['push', ...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git push ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

/** Polls the preview through the router until it answers 200 with `expected` in the body. */
async function answers(routerPort: number, host: string, expected: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const response = await request(`http://127.0.0.1:${routerPort}/`, { headers: { host } });
      const body = await response.body.text();
      if (response.statusCode === 200 && body.includes(expected)) return;
    } catch {
      // not up yet
    }
    await sleep(20);
  }
  throw new Error(`${host} never answered with "${expected}"`);
}

runBench('push', 30 * 60_000, async (onCleanup) => {
  const results: Array<{ cold: number; warm: number; reuse: number }> = [];
  for (let run = 1; run <= RUNS; run += 1) {
    const bench = await startBenchMaestro('push');
    onCleanup(() => bench.stop());
    const { maestro } = bench;
    const repo = join(bench.dir, 'repo');
    cpSync(EXAMPLE, repo, { recursive: true });
    const manifest = readFileSync(join(repo, 'maestro.yml'), 'utf8')
      .replace(/^project: .*$/m, `project: ${PROJECT}`)
      .concat('environments:\n  preview:\n    services:\n      api: { replicas: 1 }\n');
    writeFileSync(join(repo, 'maestro.yml'), manifest);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'add', '.');
    git(repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', 'express app');
    const remote = new URL(`/git/${PROJECT}.git`, maestro.apiUrl);
    remote.username = 'bench';
    remote.password = maestro.createdAdminToken!;
    git(repo, 'remote', 'add', 'maestro', remote.toString());
    const routerPort = maestro.routerPort;

    const timed = async (label: string, branch: string, expected: string, ...pushArgs: string[]): Promise<number> => {
      const start = now();
      await push(repo, 'maestro', ...pushArgs);
      await answers(routerPort, `api.${branch}.${PROJECT}.localhost`, expected, Date.now() + 120_000);
      const took = now() - start;
      console.log(`run ${run}: ${label} ${seconds(took)}`);
      return took;
    };

    const cold = await timed('cold ', 'feature-one', 'Hello from Express', 'HEAD:refs/heads/feature-one');
    const server = readFileSync(join(repo, 'server.js'), 'utf8').replace('Hello from Express', `Hello again from Express (${run})`);
    writeFileSync(join(repo, 'server.js'), server);
    git(repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qam', 'change one file');
    const warm = await timed('warm ', 'feature-one', `Hello again from Express (${run})`, 'HEAD:refs/heads/feature-one');
    const reuse = await timed('reuse', 'feature-two', `Hello again from Express (${run})`, 'HEAD:refs/heads/feature-two');
    results.push({ cold, warm, reuse });
    await bench.stop();
  }

  const medians = {
    cold: median(results.map((result) => result.cold)),
    warm: median(results.map((result) => result.warm)),
    reuse: median(results.map((result) => result.reuse)),
  };
  console.log(`\ngit push to preview answering, ${RUNS} run(s), medians:`);
  console.log(
    table([
      ['push', 'median', 'target', ''],
      ['cold (new preview, npm ci)', seconds(medians.cold), '-', ''],
      ['warm (one file changed)', seconds(medians.warm), seconds(WARM_TARGET_MS), medians.warm <= WARM_TARGET_MS ? 'PASS' : 'FAIL'],
      ['reuse (same commit, new branch)', seconds(medians.reuse), seconds(REUSE_TARGET_MS), medians.reuse <= REUSE_TARGET_MS ? 'PASS' : 'FAIL'],
    ]),
  );
  return medians.warm <= WARM_TARGET_MS && medians.reuse <= REUSE_TARGET_MS ? 0 : 1;
});
