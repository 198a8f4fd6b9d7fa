import type { Command } from 'commander';
import { MaestroError } from '../../common/index.js';
import { ApiClient } from '../api-client.js';
import { saveLogin } from '../credentials.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export function loginCommand(program: Command): void {
  program
    .command('login')
    .description('Save a server address and API token for later commands (checked against the server first)')
    .option('--url <url>', 'the Maestro API', 'http://127.0.0.1:7070')
    .option('--token <token>', 'the API token (default: read from standard input)')
    .addHelpText('after', '\nExamples:\n  maestro login --url https://maestro.example.com < token.txt\n  echo "$TOKEN" | maestro login\n')
    .action(async (options: { url: string; token?: string }) => {
      const token = options.token ?? (process.stdin.isTTY ? '' : await readStdin());
      if (!token) throw new MaestroError('validation_error', 'no token: pass --token or pipe it on standard input');
      const url = options.url.replace(/\/+$/, '');
      const me = await new ApiClient({ url, token, source: 'login' }).call<{ name: string; role: string }>('GET', '/v1/whoami');
      const file = saveLogin(url, token);
      process.stdout.write(`logged in to ${url} as ${me.name} (${me.role}); saved to ${file}\n`);
    });
}
