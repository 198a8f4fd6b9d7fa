import { z } from 'zod';
import { manifestSchema } from './schema.js';

export const MANIFEST_SCHEMA_ID = 'urn:maestro:manifest:v1';

/**
 * maestro.yml as JSON Schema (draft 2020-12), for editors: completion, hover help from the field
 * descriptions, and red squiggles. Describes what users write (bare strategy names, optional defaults).
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return { $schema, $id: MANIFEST_SCHEMA_ID, title: 'Maestro manifest (maestro.yml)', ...rest };
}

/** The exact text of schema/maestro.schema.json. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
