// An Express app with npm dependencies, installed by the build's `npm ci`.
import express from 'express';

const app = express();
const port = Number(process.env.PORT ?? 3000);

app.get('/healthz', (_request, response) => response.json({ ok: true }));
app.get('/', (_request, response) => response.type('text').send(`Hello from Express on Maestro (${process.env.MAESTRO_REVISION ?? 'local'})\n`));
app.get('/api/time', (_request, response) => response.json({ now: new Date().toISOString() }));

const server = app.listen(port, () => console.log(`node-express listening on port ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
