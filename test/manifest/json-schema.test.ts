import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { manifestJsonSchema, manifestJsonSchemaText } from '../../src/manifest/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const committed = join(root, 'schema', 'maestro.schema.json');

describe('schema/maestro.schema.json', () => {
  it('is exactly what scripts/export-schema.ts writes, so it cannot go stale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-schema-'));
    try {
      const target = join(dir, 'out.schema.json');
      await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'export-schema.ts'), target], {
        cwd: root,
      });
      const generated = await readFile(target, 'utf8');
      expect(generated).toBe(await readFile(committed, 'utf8'));
      expect(generated).toBe(manifestJsonSchemaText());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('identifies itself and gives editors help on every field', () => {
    const schema = manifestJsonSchema();
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'urn:maestro:manifest:v1',
      title: 'Maestro manifest (maestro.yml)',
      required: ['project', 'services'],
      additionalProperties: false,
    });
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      for (const [key, value] of Object.entries((record['properties'] as Record<string, unknown>) ?? {})) {
        if (typeof (value as { description?: unknown }).description !== 'string') undocumented.push(`${path}.${key}`);
        walk(value, `${path}.${key}`);
      }
      for (const key of ['additionalProperties', 'items']) walk(record[key], `${path}.${key}`);
      for (const key of ['anyOf', 'oneOf']) (record[key] as unknown[] | undefined)?.forEach((option, i) => walk(option, `${path}.${key}[${i}]`));
    };
    walk(schema, '');
    expect(undocumented).toEqual([]);
  });

  it('shows the defaults users get when they leave a field out', () => {
    type Node = { properties: Record<string, Node>; additionalProperties: Node; default?: unknown };
    const top = manifestJsonSchema() as unknown as Node;
    const service = top.properties['services']!.additionalProperties.properties;
    expect(service['replicas']!.default).toBe(1);
    expect(service['port']!.default).toBe('$PORT');
    expect(service['path']!.default).toBe('.');
    expect(service['health']!.properties['interval']!.default).toBe('2s');
    expect(top.properties['environments']!.default).toEqual({ production: {} });
    expect(top.properties['environments']!.additionalProperties.properties['strategy']!.default).toBe('immediate');
  });
});
