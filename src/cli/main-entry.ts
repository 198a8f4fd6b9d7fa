// Entry used when Maestro starts one of its own processes (router, control plane) or runs as a script.
import { main } from './main.js';

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
