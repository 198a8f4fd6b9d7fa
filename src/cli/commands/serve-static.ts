import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import { MaestroError } from '../../common/index.js';

/**
 * The server behind `runtime: static`: serves a folder on $PORT with ETags and ranges, `index.html`
 * for folders, and the site's own `404.html` when it has one.
 */
export function serveStaticCommand(program: Command): void {
  program
    .command('serve-static', { hidden: true })
    .argument('<dir>', 'the folder to serve')
    .action(async (dir: string) => {
      const root = resolve(dir);
      if (!existsSync(root) || !statSync(root).isDirectory()) {
        throw new MaestroError('validation_error', `static.dir ${root} is not a folder; check static.dir in maestro.yml and the build output`);
      }
      const port = Number(process.env.PORT ?? 8080);
      const app = Fastify({ logger: false });
      await app.register(fastifyStatic, { root, index: ['index.html'], cacheControl: true, maxAge: '1m', redirect: true });
      const notFoundPage = resolve(root, '404.html');
      app.setNotFoundHandler((_request, reply) =>
        existsSync(notFoundPage) ? reply.status(404).sendFile('404.html') : reply.status(404).type('text/plain').send('Not found\n'),
      );
      await app.listen({ port, host: '0.0.0.0' });
      process.stdout.write(`serving ${root} on port ${port}\n`);
      const stop = (): void => void app.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await new Promise(() => undefined);
    });
}
