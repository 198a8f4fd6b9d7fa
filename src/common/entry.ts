import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The command that runs the `maestro` CLI in a child process (router, static sites): the compiled
 * JavaScript when Maestro runs from `dist/`, the TypeScript source through tsx when it runs from `src/`
 * (tests, `npm run bench:*`). tsx is given by absolute URL because children run in other folders.
 */
export function maestroCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const cli = fileURLToPath(new URL('../cli/main-entry.ts', import.meta.url));
    return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), cli] };
  }
  const cli = fileURLToPath(new URL('../cli/main-entry.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`Maestro's CLI entry is missing at ${cli}; run \`npm run build\`.`);
  return { command: process.execPath, args: [cli] };
}

/** Quote a word for /bin/sh. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The maestro CLI as one shell command line, e.g. the start command of a static site. */
export function maestroShellCommand(...subcommand: string[]): string {
  const { command, args } = maestroCommand();
  return [command, ...args, ...subcommand].map(shellQuote).join(' ');
}
