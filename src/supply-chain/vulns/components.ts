import { createHash } from 'node:crypto';
import { MaestroError } from '../../common/index.js';
import { ECOSYSTEMS, type Ecosystem, type ScannedComponent } from './types.js';

/**
 * Checks components handed in from outside (an SBOM, a request body) and keeps only the fields scanning
 * uses, sorted and without duplicates, so the same packages always give the same digest.
 */
export function normaliseComponents(input: unknown): ScannedComponent[] {
  if (!Array.isArray(input)) {
    throw new MaestroError('validation_error', 'components must be an array of {ecosystem, name, version, purl}');
  }
  const byKey = new Map<string, ScannedComponent>();
  input.forEach((item: unknown, index) => {
    const component = checkComponent(item, index);
    byKey.set(componentKey(component), component);
  });
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, component]) => component);
}

function checkComponent(item: unknown, index: number): ScannedComponent {
  const where = `components[${index}]`;
  if (typeof item !== 'object' || item === null) throw new MaestroError('validation_error', `${where} must be an object {ecosystem, name, version, purl}`);
  const { ecosystem, name, version, purl } = item as Record<string, unknown>;
  if (typeof ecosystem !== 'string' || !(ECOSYSTEMS as readonly string[]).includes(ecosystem)) {
    throw new MaestroError(
      'validation_error',
      `${where}.ecosystem must be one of ${ECOSYSTEMS.join(', ')} (OSV's spelling), got ${JSON.stringify(ecosystem)}; leave other ecosystems out`,
      { field: `${where}.ecosystem` },
    );
  }
  for (const [field, value] of [['name', name], ['version', version], ['purl', purl]] as const) {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new MaestroError('validation_error', `${where}.${field} must be a non-empty string`, { field: `${where}.${field}` });
    }
  }
  return { ecosystem: ecosystem as Ecosystem, name: name as string, version: version as string, purl: purl as string };
}

export function componentKey(component: ScannedComponent): string {
  return JSON.stringify([component.ecosystem, component.name, component.version, component.purl]);
}

/** sha256 of the normalised components: what a cached scan is keyed by, besides the advisories. */
export function componentsDigest(components: readonly ScannedComponent[]): string {
  return createHash('sha256').update(JSON.stringify(components.map((c) => [c.ecosystem, c.name, c.version, c.purl]))).digest('hex');
}
