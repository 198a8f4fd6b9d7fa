import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs (pino). Anything that could carry a secret is redacted by key, so a token or an
 * app's environment never reaches a log even when a whole object is logged.
 */
export function createLogger(options: { name: string; level?: string; destination?: number | string }): Logger {
  const destination = options.destination ?? 1;
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.MAESTRO_LOG_LEVEL ?? 'info',
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'env', '*.env', 'password', '*.password', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: destination, sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
