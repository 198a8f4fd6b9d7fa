/**
 * What a secret may be called and hold. Names are environment variable names in the strict, portable
 * form; values must be long enough to be found again in output, or redaction could not hide them.
 */
import { MaestroError } from '../common/index.js';

export const SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
export const MAX_SECRET_NAME_LENGTH = 128;
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Shorter values would match everywhere in logs ("abc" is in half the words printed), so they cannot be hidden. */
export const MIN_SECRET_VALUE_CHARS = 4;

export const SECRET_NAME_RULE = 'capital letters, digits and _, not starting with a digit (like NPM_TOKEN)';

export function isSecretName(name: string): boolean {
  return name.length <= MAX_SECRET_NAME_LENGTH && SECRET_NAME_PATTERN.test(name);
}

export function checkSecretName(name: string): string {
  if (!isSecretName(name)) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
    throw new MaestroError('validation_error', `${shown} is not a valid secret name: use ${SECRET_NAME_RULE}, at most ${MAX_SECRET_NAME_LENGTH} characters`, {
      field: 'name',
    });
  }
  return name;
}

/** Checks a value without ever putting it in the message. Line breaks do not count towards the length: redaction looks across them. */
export function checkSecretValue(name: string, value: string): string {
  if (value.includes('\0')) {
    throw new MaestroError('validation_error', `the value of ${name} holds a NUL character, which no environment variable can carry`, { field: name });
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw new MaestroError('payload_too_large', `the value of ${name} is ${bytes} bytes; a secret holds at most ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB)`, { field: name });
  }
  if (value.replace(/[\r\n]/g, '').length < MIN_SECRET_VALUE_CHARS) {
    throw new MaestroError(
      'validation_error',
      `the value of ${name} is shorter than ${MIN_SECRET_VALUE_CHARS} characters: a value that short turns up in ordinary output, so it could not be hidden from logs; use a longer one`,
      { field: name },
    );
  }
  return value;
}
