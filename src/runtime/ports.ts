import { createServer } from 'node:net';
import { MaestroError } from '../common/index.js';

/** Ports handed out lately by this process, so two replicas started back to back never get the same one. */
const recentlyAllocated: number[] = [];
const RECENT_LIMIT = 256;

function listenOnce(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/** A free port on 127.0.0.1, avoiding `taken` and anything this process handed out lately. */
export async function allocatePort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await listenOnce(0, '127.0.0.1');
    if (taken.has(port) || recentlyAllocated.includes(port)) continue;
    recentlyAllocated.push(port);
    if (recentlyAllocated.length > RECENT_LIMIT) recentlyAllocated.shift();
    return port;
  }
  throw new MaestroError('unavailable', 'could not find a free port on 127.0.0.1 after 50 attempts');
}

export type PortAvailability = 'free' | 'in_use' | 'forbidden';

/**
 * Whether an app could listen on `port`. The app may bind any address, so the check binds the wildcard
 * address, which collides with a listener on any address of this machine.
 */
export async function checkPort(port: number): Promise<PortAvailability> {
  for (const host of ['::', '0.0.0.0']) {
    try {
      await listenOnce(port, host);
      return 'free';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') return 'in_use';
      if (code === 'EACCES') return 'forbidden';
      // EAFNOSUPPORT / EADDRNOTAVAIL: no IPv6 here, try IPv4.
    }
  }
  return 'free';
}
