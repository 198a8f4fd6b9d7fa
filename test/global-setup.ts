// One temporary folder per test run, and a sweep at the end for what the tests left running.
//
// Maestro's router and apps are detached on purpose (they outlive the control plane), so a test that
// times out before its clean-up leaves them behind. Every test makes its data directories under
// os.tmpdir(); pointing TMPDIR at a folder of this run's own lets the teardown find those processes
// (by their working directory or command line) and stop them, and says so, so a leak is seen and fixed.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function processesUnder(root: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // Not ours to read, or gone.
      }
      if (cwd.startsWith(root) || command.includes(root)) found.push({ pid, command });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export default function setup(): () => void {
  if (process.platform !== 'linux') return () => undefined;
  const root = mkdtempSync(join(tmpdir(), 'maestro-test-run-'));
  process.env.TMPDIR = root;
  return () => {
    const leftovers = processesUnder(root);
    for (const { pid } of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (leftovers.length > 0) {
      console.warn(`test teardown: stopped ${leftovers.length} process(es) a test left running:`);
      for (const { pid, command } of leftovers) console.warn(`  ${pid} ${command.slice(0, 200)}`);
    }
    try {
      // Processes stopped just now may still have been writing there.
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      console.warn(`test teardown: could not remove ${root}: ${(error as Error).message}`);
    }
  };
}
