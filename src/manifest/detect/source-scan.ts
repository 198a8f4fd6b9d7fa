/**
 * Reads an app's own source for the two things a manifest needs and a framework does not say:
 * whether the app takes its port from $PORT, and whether it serves a health route.
 */

export type PortUse = { kind: 'env' } | { kind: 'fixed'; port: number } | { kind: 'unknown' };

const READS_PORT = [
  /process\.env\.PORT\b/,
  /\{[^}]*\bPORT\b[^}]*\}\s*=\s*process\.env/, // const { PORT } = process.env
  /\b(?:Bun|Deno)\.env\.PORT\b/,
  // A call or index with "PORT" as its key: os.getenv("PORT"), Getenv("PORT"), env::var("PORT"),
  // System.get_env("PORT"), ENV.fetch("PORT"), Deno.env.get("PORT"), process.env["PORT"].
  /\(\s*["'`]PORT["'`]\s*[,)]/,
  /\[\s*["'`]PORT["'`]\s*\]/,
];

const FIXED_PORT = [
  /\.listen\(\s*(\d{2,5})\b/,
  /\blisten\(\s*\{[^}]*\bport\s*:\s*(\d{2,5})\b/,
  /\bport\s*[:=]\s*(\d{2,5})\b/i,
  /["'`](?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\])?:(\d{2,5})["'`]/,
  /\bbind\(\s*\(\s*["'][^"']*["']\s*,\s*(\d{2,5})\s*\)/, // actix bind(("0.0.0.0", 8080))
];

export function portUse(sources: readonly string[]): PortUse {
  for (const text of sources) if (READS_PORT.some((pattern) => pattern.test(text))) return { kind: 'env' };
  for (const text of sources) {
    for (const pattern of FIXED_PORT) {
      const match = pattern.exec(text);
      const port = match ? Number(match[1]) : NaN;
      if (port >= 1 && port <= 65535) return { kind: 'fixed', port };
    }
  }
  return { kind: 'unknown' };
}

const HEALTH_ROUTE = /["'`](\/(?:api\/)?(?:healthz|health|healthcheck|_health))["'`]/;

/** A health route the app declares in one of these sources, if any. */
export function healthRoute(sources: readonly string[]): string | undefined {
  for (const text of sources) {
    const match = HEALTH_ROUTE.exec(text);
    if (match) return match[1];
  }
  return undefined;
}

/** The note that goes with a fixed port, so the user knows why the manifest pins it. */
export function fixedPortNote(file: string, port: number): string {
  return `${file} listens on fixed port ${port}; read the PORT environment variable instead so Maestro can run several replicas`;
}
