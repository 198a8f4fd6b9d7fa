/** Turborepo's artifact metadata headers, checked on the way in and returned unchanged on the way out. */
import { MaestroError } from '../../common/index.js';

const MAX_TAG_LENGTH = 1024;

/** `x-artifact-duration`: the task's run time in milliseconds; absent is fine. */
export function parseArtifactDuration(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,15}$/.test(text)) {
    throw new MaestroError('validation_error', `x-artifact-duration must be a whole number of milliseconds, got "${String(text).slice(0, 40)}"`, {
      field: 'x-artifact-duration',
    });
  }
  return Number(text);
}

/** `x-artifact-tag`: opaque to the server (turbo's signature); stored as sent, within a sane length. */
export function parseArtifactTag(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text.length === 0) return undefined;
  if (text.length > MAX_TAG_LENGTH) {
    throw new MaestroError('validation_error', `x-artifact-tag is ${text.length} characters; at most ${MAX_TAG_LENGTH} are kept`, {
      field: 'x-artifact-tag',
    });
  }
  return text;
}

/** The Content-Length the client declared, when it declared one that makes sense. */
export function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d{1,15}$/.test(header)) return undefined;
  return Number(header);
}
