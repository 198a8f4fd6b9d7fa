/** GitHub's own example payloads, as @octokit/webhooks-examples ships them: github.com's and each GitHub Enterprise Server's. */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Definition {
  name: string;
  examples: Array<Record<string, unknown>>;
}

const packageDir = dirname(createRequire(import.meta.url).resolve('@octokit/webhooks-examples/package.json'));

/** Every example of `event`, labelled `<flavour> <event>[.<action>] #<n>`. */
export function githubExamples(event: string): Array<{ label: string; payload: Record<string, unknown> }> {
  const found: Array<{ label: string; payload: Record<string, unknown> }> = [];
  for (const flavour of readdirSync(packageDir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)) {
    const definitions = JSON.parse(readFileSync(join(packageDir, flavour, 'index.json'), 'utf8')) as Definition[];
    const definition = definitions.find((d) => d.name === event);
    definition?.examples.forEach((payload, index) => {
      const action = typeof payload.action === 'string' ? `.${payload.action}` : '';
      found.push({ label: `${flavour} ${event}${action} #${index}`, payload });
    });
  }
  return found;
}

/** A deep copy, so a test may change it. */
export function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
