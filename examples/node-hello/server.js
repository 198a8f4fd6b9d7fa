// A dependency-free HTTP app: it listens on $PORT, answers /healthz, and stops cleanly on SIGTERM.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const version = process.env.APP_VERSION ?? 'v1';
const revision = process.env.MAESTRO_REVISION ?? 'local';

const server = createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: true }));
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`Hello from Maestro! version=${version} revision=${revision}\n`);
});

server.keepAliveTimeout = 65_000;
server.listen(port, () => console.log(`node-hello ${version} listening on port ${port}`));

process.on('SIGTERM', () => {
  console.log('SIGTERM: finishing in-flight requests');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
