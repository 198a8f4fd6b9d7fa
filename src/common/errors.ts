/**
 * Errors are values with a code and a message a person can act on. The API turns them into
 * `{error: {code, message, details}}` with the matching HTTP status; the CLI prints the message.
 */
export type ErrorCode =
  | 'validation_error'
  | 'bad_request'
  | 'unauthorized'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'step_failed'
  | 'deploy_failed'
  | 'unhealthy'
  | 'timeout'
  | 'unavailable'
  | 'internal';

const HTTP_STATUS: Record<ErrorCode, number> = {
  validation_error: 400,
  bad_request: 400,
  unauthorized: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  step_failed: 422,
  deploy_failed: 422,
  unhealthy: 503,
  timeout: 504,
  unavailable: 503,
  internal: 500,
};

export class MaestroError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'MaestroError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export function isMaestroError(value: unknown): value is MaestroError {
  return value instanceof MaestroError;
}

export function errorMessage(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
