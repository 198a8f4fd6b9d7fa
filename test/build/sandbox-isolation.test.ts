/**
 * The sandbox with real bubblewrap: what a build step can and cannot see, write and reach.
 * Skipped, with the reason in the test names, on machines where bwrap cannot run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execStep, packSource, runBuild, type ExecStepOutcome } from '../../src/build/index.js';
import { detectSandbox } from '../../src/build/sandbox/index.js';
import { removeDir, tempDir, writeTree } from './tree-helpers.js';

const detection = await detectSandbox();
const skipNote = detection.available ? '' : ` (skipped: ${detection.reason})`;
if (!detection.available) console.warn(`sandbox isolation tests skipped: ${detection.reason}`);

let base: string;
let data: string;
let workDir: string;
let outside: string;
let cache: string;
let server: Server;
let port: number;

beforeAll(async () => {
  base = await tempDir('maestro-sandbox-');
  data = join(base, 'data');
  workDir = join(data, 'work', 'this-project');
  outside = join(base, 'outside');
  cache = join(base, 'cache');
  await writeTree(data, { 'keys/secret': 'top-secret-key', 'work/other-project/source.txt': 'other-project-code' });
  await mkdir(join(workDir, 'home'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(base, 'host-tmp-file'), 'on the host');
  server = createServer((socket) => socket.end('hello from the host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (base) await removeDir(base);
});

async function inSandbox(command: string, options: { network?: boolean; env?: Record<string, string>; signal?: AbortSignal; onLine?: (line: string) => void } = {}) {
  const lines: string[] = [];
  const outcome: ExecStepOutcome = await execStep({
    command,
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(workDir, 'home'), DATA: data, OUTSIDE: outside, CACHE: cache, BASE: base, ...options.env },
    onLine: (line) => {
      lines.push(line);
      options.onLine?.(line);
    },
    // 'require': a test that silently ran unsandboxed would prove nothing.
    sandbox: { policy: { mode: 'require' }, hidden: [data], writable: [cache], network: options.network ?? false, workDir, detection },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { outcome, lines };
}

/** `name=<exit status>` lines printed by the probes below. */
function statuses(lines: string[]): Record<string, number> {
  return Object.fromEntries(lines.flatMap((line) => (/^(\w+)=(\d+)$/.exec(line) ? [[line.split('=')[0], Number(line.split('=')[1])]] : [])));
}

const probeConnect = (port: number): string =>
  `node -e "require('net').connect(${port}, '127.0.0.1').on('data', (d) => { console.log('connected: ' + d.toString().trim()); process.exit(0) }).on('error', (e) => { console.log('refused: ' + e.code); process.exit(0) })"`;

describe.skipIf(!detection.available)(`a sandboxed step${skipNote}`, () => {
  it('writes only to its work dir and writable folders', async () => {
    const { outcome, lines } = await inSandbox(
      [
        'touch /etc/maestro-x 2>/dev/null; echo "etc=$?"',
        'echo x 2>/dev/null > "$OUTSIDE/x"; echo "outside=$?"',
        'echo x > inside.txt; echo "inside=$?"',
        'echo x > "$HOME/.npmrc"; echo "home=$?"',
        'echo x > "$CACHE/entry"; echo "cache=$?"',
      ].join('; '),
    );
    expect(outcome).toMatchObject({ ended: 'exited', exitCode: 0 });
    const status = statuses(lines);
    expect(status.etc).not.toBe(0);
    expect(status.outside).not.toBe(0);
    expect(status).toMatchObject({ inside: 0, home: 0, cache: 0 });
    expect(existsSync('/etc/maestro-x')).toBe(false);
    expect(existsSync(join(outside, 'x'))).toBe(false);
    expect(readFileSync(join(workDir, 'inside.txt'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(cache, 'entry'), 'utf8')).toBe('x\n');
  });

  it('cannot read the hidden data dir, nor another project in it', async () => {
    const { lines } = await inSandbox(
      ['cat "$DATA/keys/secret" 2>/dev/null; echo "keys=$?"', 'cat "$DATA/work/other-project/source.txt" 2>/dev/null; echo "sibling=$?"', 'ls -A "$DATA/work" | tr "\\n" " "'].join('; '),
    );
    const status = statuses(lines);
    expect(status.keys).not.toBe(0);
    expect(status.sibling).not.toBe(0);
    expect(lines.join('\n')).not.toMatch(/top-secret-key|other-project-code/);
    // Only its own folder shows through the mask.
    expect(lines.at(-1)?.trim()).toBe('this-project');
  });

  it('has a private /tmp', async () => {
    const { lines } = await inSandbox('test -e "$BASE/host-tmp-file"; echo "host=$?"; echo x > /tmp/made-inside; echo "write=$?"; echo "tmp:" $(ls -A /tmp); echo "base:" $(ls -A "$BASE")');
    const status = statuses(lines);
    expect(status.host).not.toBe(0);
    expect(status.write).toBe(0);
    // All that shows of the host's /tmp are the folders leading to the bound ones (the test's folders live there).
    const firstUnderTmp = relative('/tmp', base).split('/')[0]!;
    expect(lines.slice(-2)).toEqual([`tmp: ${[firstUnderTmp, 'made-inside'].sort().join(' ')}`, 'base: cache data']);
    expect(existsSync('/tmp/made-inside')).toBe(false);
  });

  it('has no network unless allowed', async () => {
    const without = await inSandbox(probeConnect(port));
    expect(without.lines).toEqual([expect.stringMatching(/^refused: E[A-Z]+$/)]);
    const withNetwork = await inSandbox(probeConnect(port), { network: true });
    expect(withNetwork.lines).toEqual(['connected: hello from the host']);
  });

  it('keeps its environment off every command line on the machine', async () => {
    const secret = `s3cret-${process.pid}-${Date.now()}`;
    const controller = new AbortController();
    let seen = false;
    const running = inSandbox('echo "has $TOKEN_LENGTH"; echo started; sleep 30', {
      env: { API_TOKEN: secret, TOKEN_LENGTH: String(secret.length) },
      signal: controller.signal,
      onLine: (line) => {
        if (line !== 'started') return;
        for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
          try {
            if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(secret)) seen = true;
          } catch {
            // Gone meanwhile.
          }
        }
        controller.abort();
      },
    });
    const { outcome, lines } = await running;
    expect(lines).toContain(`has ${secret.length}`);
    expect(outcome.ended).toBe('cancelled');
    expect(seen).toBe(false);
  });

  it('takes everything it started down with it when cancelled', async () => {
    const marker = `${process.pid}${Date.now() % 100000}`;
    const controller = new AbortController();
    const started = Date.now();
    const { outcome } = await inSandbox(`(trap '' TERM; exec sleep 7${marker}) & echo started; wait`, {
      signal: controller.signal,
      onLine: (line) => line === 'started' && controller.abort(),
    });
    expect(outcome.ended).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
    const left = readdirSync('/proc').filter((pid) => {
      try {
        return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`7${marker}`);
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
  });
});

describe.skipIf(!detection.available)(`a sandboxed build${skipNote}`, () => {
  it('gives install the network and build none, and only the declared environment', async () => {
    process.env.MAESTRO_SANDBOX_TEST_LEAK = 'from-the-control-plane';
    try {
      const app = join(base, 'app');
      await writeTree(app, { 'package.json': '{}' });
      const archive = (await packSource(app, { outFile: join(base, 'source.tar.gz') })).archive;
      const lines: string[] = [];
      const result = await runBuild({
        sourceArchive: archive,
        workDir: join(data, 'work', 'build-1'),
        servicePath: '.',
        install: probeConnect(port),
        command: `${probeConnect(port)}; env | sort`,
        env: { DECLARED: 'yes' },
        sourceDateEpoch: 1_700_000_000,
        onLog: (line) => lines.push(line),
        sandbox: { policy: { mode: 'require' }, hidden: [data], writable: [], detection },
      });
      expect(result.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
      expect(lines[0]).toBe('connected: hello from the host');
      expect(lines[1]).toMatch(/^refused: /);
      const env = Object.fromEntries(lines.slice(2).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      expect(env).toMatchObject({ DECLARED: 'yes', SOURCE_DATE_EPOCH: '1700000000', TZ: 'UTC', CI: '1', LANG: 'C.UTF-8', HOME: join(data, 'work', 'build-1', 'home') });
      expect(Object.keys(env).filter((name) => !['DECLARED', 'SOURCE_DATE_EPOCH', 'TZ', 'CI', 'LANG', 'HOME', 'PATH', 'PWD', 'SHLVL', '_'].includes(name))).toEqual([]);
    } finally {
      delete process.env.MAESTRO_SANDBOX_TEST_LEAK;
    }
  });

  it('can give the build step the network too', async () => {
    const app = join(base, 'app2');
    await writeTree(app, { 'index.js': '' });
    const archive = (await packSource(app, { outFile: join(base, 'source2.tar.gz') })).archive;
    const lines: string[] = [];
    await runBuild({
      sourceArchive: archive,
      workDir: join(data, 'work', 'build-2'),
      servicePath: '.',
      install: probeConnect(port),
      command: probeConnect(port),
      env: {},
      network: { install: false, build: true },
      onLog: (line) => lines.push(line),
      sandbox: { policy: { mode: 'require' }, hidden: [data], writable: [], detection },
    });
    expect(lines).toEqual([expect.stringMatching(/^refused: /), 'connected: hello from the host']);
  });
});
