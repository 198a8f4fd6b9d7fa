/**
 * Writes schema/maestro.schema.json from the zod schema in src/manifest, so editors validate maestro.yml
 * and show each field's help. `npm run schema`; pass another path to write elsewhere.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestJsonSchemaText } from '../src/manifest/index.js';

const defaultTarget = fileURLToPath(new URL('../schema/maestro.schema.json', import.meta.url));
const target = resolve(process.argv[2] ?? defaultTarget);

await mkdir(dirname(target), { recursive: true });
await writeFile(target, manifestJsonSchemaText());
console.log(`wrote ${target}`);
