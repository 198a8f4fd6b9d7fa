/**
 * A replica's output filter, its own small process: the app writes to this process's stdin, and what
 * reaches the log file (its stdout) has the replica's secret values hidden. The values arrive once on
 * fd 3 (JSON) and live only in this process's memory. It outlives the control plane like the app does,
 * and ends when the app's last writer closes the pipe.
 */
import { readFileSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Redactor, type NamedValue } from './redact.js';

/**
 * Kept back text (a possible start of a value) is shown after this long without more output: an app
 * that prints half a line and waits must not have it held forever. A value split across two writes
 * further apart than this is not recognised.
 */
const IDLE_FLUSH_MS = 2_000;

const values = JSON.parse(readFileSync(3, 'utf8')) as NamedValue[];
const stream = new Redactor(values).stream();
const decoder = new StringDecoder('utf8');
let idle: NodeJS.Timeout | undefined;

function write(text: string): void {
  if (text !== '') writeSync(1, text);
}

process.stdin.on('data', (chunk: Buffer) => {
  if (idle) clearTimeout(idle);
  write(stream.push(decoder.write(chunk)));
  if (stream.holding) idle = setTimeout(() => write(stream.end()), IDLE_FLUSH_MS);
});
process.stdin.on('end', () => {
  if (idle) clearTimeout(idle);
  write(stream.push(decoder.end()));
  write(stream.end());
});
// The app is stopped with signals to its process group; this process is in its own and leaves on end of input.
process.on('SIGTERM', () => undefined);
