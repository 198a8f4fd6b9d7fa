// Entry for the router process: `node --import tsx src/router/main.ts --port 8080 --admin-port 8081 --state-file routes.json`.
import { errorMessage } from '../common/index.js';
import { parseRouterArgs } from './args.js';
import { runRouterProcess } from './process.js';

try {
  await runRouterProcess(parseRouterArgs(process.argv.slice(2)));
} catch (error) {
  console.error(`router: ${errorMessage(error)}`);
  process.exit(2);
}
