import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The command that runs the `maestro` CLI in a child process (router, control plane): the compiled
 * JavaScript when Maestro runs from `dist/`, the TypeScript source through tsx when it runs from `src/`
 * (tests, `npm run bench:*`).
 */
export function maestroCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const cli = fileURLToPath(new URL('../cli/main-entry.ts', import.meta.url));
    return { command: process.execPath, args: ['--import', 'tsx', cli] };
  }
  const cli = fileURLToPath(new URL('../cli/main-entry.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`Maestro's CLI entry is missing at ${cli}; run \`npm run build\`.`);
  return { command: process.execPath, args: [cli] };
}
