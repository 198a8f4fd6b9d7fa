/** The head of a CGI response (RFC 3875): header lines, then an empty line, then the body. */
import { MaestroError } from '../common/index.js';

export interface CgiHead {
  status: number;
  headers: Array<[name: string, value: string]>;
}

/** More than this before the empty line is not a CGI head. */
export const MAX_CGI_HEAD_BYTES = 64 * 1024;

/**
 * Splits what the CGI printed so far into its head and the start of its body, or returns undefined
 * while the head is incomplete. `Status: 404 Not Found` becomes the status (200 without one); the
 * other lines are headers. Lines may end in CRLF or LF.
 */
export function parseCgiHead(output: Buffer): { head: CgiHead; body: Buffer } | undefined {
  const end = headEnd(output);
  if (!end) {
    if (output.length > MAX_CGI_HEAD_BYTES) throw new MaestroError('internal', `git http-backend printed ${output.length} bytes without ending its headers`);
    return undefined;
  }
  const head: CgiHead = { status: 200, headers: [] };
  for (const line of output.subarray(0, end.headLength).toString('latin1').split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MaestroError('internal', `git http-backend printed a header line without a name: ${JSON.stringify(line.slice(0, 200))}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const status = Number(/^(\d{3})\b/.exec(value)?.[1]);
      if (!Number.isInteger(status) || status < 100 || status > 599) throw new MaestroError('internal', `git http-backend printed a bad status: ${JSON.stringify(value)}`);
      head.status = status;
    } else {
      head.headers.push([name, value]);
    }
  }
  return { head, body: output.subarray(end.bodyStart) };
}

/** Where the first empty line is: `\n\n` or `\r\n\r\n` (the earlier one), or at the very start. */
function headEnd(output: Buffer): { headLength: number; bodyStart: number } | undefined {
  // No header lines at all: the empty line comes first.
  if (output.subarray(0, 2).equals(Buffer.from('\r\n'))) return { headLength: 0, bodyStart: 2 };
  if (output[0] === 0x0a) return { headLength: 0, bodyStart: 1 };
  const lf = output.indexOf('\n\n');
  const crlf = output.indexOf('\r\n\r\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headLength: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headLength: lf, bodyStart: lf + 2 };
  return undefined;
}
