import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { request } from 'undici';
import { dataPaths, readControlPlaneInfo, resolveDataDir } from '../../server/index.js';
import { deploy } from './deploy.js';
import { addServerOptions, announce, stopOnSignal, upOptions } from './server.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/node-hello', import.meta.url));

/** `npm run demo`: start Maestro (unless it already runs here), deploy the bundled example, show it answering. */
export function demoCommand(program: Command): void {
  addServerOptions(program.command('demo').description('Start Maestro and deploy the bundled node-hello example'))
    .option('--exit', 'stop after the example is live instead of keeping Maestro running')
    .action(async (flags: Parameters<typeof upOptions>[0] & { exit?: boolean }) => {
      const options = upOptions(flags);
      const existing = readControlPlaneInfo(dataPaths(resolveDataDir(flags.dataDir)));
      const running = existing ? undefined : await (await import('../../server/index.js')).startMaestro(options);
      if (running) announce(running);
      process.env.MAESTRO_URL = running?.apiUrl ?? `http://127.0.0.1:${existing!.apiPort}`;
      process.env.MAESTRO_DATA_DIR = options.dataDir;

      const code = await deploy(EXAMPLE, { env: 'production', wait: true });
      if (code === 0) {
        const routerPort = running?.routerPort ?? existing!.routerPort;
        const host = `web.production.hello.localhost`;
        const answer = await request(`http://127.0.0.1:${routerPort}/`, { headers: { host } });
        const body = (await answer.body.text()).trim();
        process.stdout.write(`\n$ curl http://${host}:${routerPort}/\n${body}\n\n`);
      }
      if (!running) return void (process.exitCode = code);
      if (flags.exit || code !== 0) {
        await running.stop({ stopApps: true });
        process.exitCode = code;
        return;
      }
      process.stdout.write('Maestro keeps running; press Ctrl-C to stop it and the app.\n');
      await stopOnSignal(running);
    });
}
