/** The real advisories in ../shared/osv (GitHub Advisory Database, OSV format) as scan findings. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FindingFact } from '../../src/policy/index.js';

export const OSV_DIR = fileURLToPath(new URL('../../../shared/osv/', import.meta.url));

export interface Advisory {
  id: string;
  ecosystem: string;
  severity: string | undefined;
  packages: string[];
}

export function advisories(): Advisory[] {
  return ['npm', 'pypi', 'go'].flatMap((ecosystem) =>
    readdirSync(join(OSV_DIR, ecosystem))
      .filter((name) => name.endsWith('.json'))
      .map((name) => {
        const doc = JSON.parse(readFileSync(join(OSV_DIR, ecosystem, name), 'utf8')) as {
          id: string;
          database_specific?: { severity?: string };
          affected?: { package: { name: string } }[];
        };
        return { id: doc.id, ecosystem, severity: doc.database_specific?.severity, packages: (doc.affected ?? []).map((a) => a.package.name) };
      }),
  );
}

/** One finding per affected package, as a scan reports them: an advisory on two packages comes twice. */
export function findingsOf(list: readonly Advisory[]): FindingFact[] {
  return list.flatMap((advisory) => advisory.packages.map(() => ({ id: advisory.id, ...(advisory.severity ? { severity: advisory.severity } : {}) })));
}
