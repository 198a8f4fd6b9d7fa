/**
 * The CycloneDX 1.6 JSON document (https://cyclonedx.org/docs/1.6/json/): its shape, how one is
 * written from merged components, the flat component list read back from one, and a canonical key
 * order, so a document that went through Postgres' jsonb (which reorders keys) prints the same bytes.
 */
import { cyclonedxLicenses, type CycloneDxLicense } from './licenses.js';
import type { Component, Distribution, Ecosystem, Hash, Origin, Scope } from './model.js';

export interface CdxHash {
  alg: string;
  content: string;
}

export interface CdxProperty {
  name: string;
  value: string;
}

export interface CdxExternalReference {
  type: string;
  url: string;
  hashes?: CdxHash[];
}

export interface CdxComponent {
  type: string;
  'bom-ref': string;
  group?: string;
  name: string;
  version?: string;
  scope?: Scope;
  hashes?: CdxHash[];
  licenses?: CycloneDxLicense[];
  purl?: string;
  externalReferences?: CdxExternalReference[];
  properties?: CdxProperty[];
}

export interface CycloneDxDocument {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    lifecycles: Array<{ phase: string }>;
    tools: { components: CdxComponent[] };
    component: CdxComponent;
    properties?: CdxProperty[];
  };
  components: CdxComponent[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
  compositions: Array<{ aggregate: string; assemblies?: string[]; dependencies?: string[] }>;
}

/** One component after the lockfiles' readings are merged (by purl). */
export interface MergedComponent {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  purl: string;
  origin: Origin;
  scope: Scope;
  direct: boolean;
  hashes: Hash[];
  distributions: Distribution[];
  downloadUrl?: string;
  licenses: string[];
  /** purls of the components it depends on; undefined when its lockfile does not say. */
  dependsOn?: string[];
  /** The lockfiles it was read from. */
  lockfiles: string[];
}

export interface DocumentInput {
  serialNumber: string;
  timestamp: string;
  tool: { name: string; version: string };
  service: { name: string; version?: string };
  components: readonly MergedComponent[];
  /** purls of what the service depends on itself. */
  rootDependsOn: readonly string[];
  /** Whether every component is known and every dependency graph was written down. */
  inventoryComplete: boolean;
  graphComplete: boolean;
  properties: CdxProperty[];
}

export const SERVICE_REF_PREFIX = 'maestro:service/';
const PROPERTY = { direct: 'maestro:direct', origin: 'maestro:origin', lockfile: 'maestro:lockfile' } as const;

export function buildCycloneDx(input: DocumentInput): CycloneDxDocument {
  const rootRef = `${SERVICE_REF_PREFIX}${input.service.name}`;
  const components = input.components.map(componentOf);
  return canonicalCycloneDx({
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: input.serialNumber,
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      lifecycles: [{ phase: 'build' }],
      tools: { components: [{ type: 'application', 'bom-ref': `maestro@${input.tool.version}`, name: input.tool.name, version: input.tool.version }] },
      component: { type: 'application', 'bom-ref': rootRef, name: input.service.name, ...(input.service.version ? { version: input.service.version } : {}) },
      ...(input.properties.length > 0 ? { properties: input.properties } : {}),
    },
    components,
    dependencies: [
      { ref: rootRef, dependsOn: [...input.rootDependsOn] },
      // A component whose lockfile does not say what it needs has no entry: unknown, not "nothing".
      ...input.components.filter((component) => component.dependsOn !== undefined).map((component) => ({ ref: component.purl, dependsOn: component.dependsOn! })),
    ],
    compositions: [
      {
        aggregate: input.inventoryComplete && input.graphComplete ? 'complete' : 'incomplete',
        assemblies: [rootRef],
        dependencies: [rootRef],
      },
    ],
  });
}

function componentOf(component: MergedComponent): CdxComponent {
  const scoped = component.ecosystem === 'npm' && component.name.startsWith('@') && component.name.includes('/');
  const group = scoped ? component.name.slice(0, component.name.indexOf('/')) : undefined;
  const name = scoped ? component.name.slice(component.name.indexOf('/') + 1) : component.name;
  const references: CdxExternalReference[] = [];
  if (component.downloadUrl) references.push({ type: component.origin === 'git' ? 'vcs' : 'distribution', url: component.downloadUrl });
  for (const distribution of component.distributions) {
    references.push({ type: 'distribution', url: distribution.url, ...(distribution.hashes.length > 0 ? { hashes: distribution.hashes } : {}) });
  }
  const licenses = cyclonedxLicenses(component.licenses);
  return {
    type: 'library',
    'bom-ref': component.purl,
    ...(group ? { group } : {}),
    name,
    ...(component.version ? { version: component.version } : {}),
    scope: component.scope,
    ...(component.hashes.length > 0 ? { hashes: component.hashes } : {}),
    ...(licenses.length > 0 ? { licenses } : {}),
    purl: component.purl,
    ...(references.length > 0 ? { externalReferences: references } : {}),
    properties: [
      { name: PROPERTY.direct, value: String(component.direct) },
      ...component.lockfiles.map((file) => ({ name: PROPERTY.lockfile, value: file })),
      { name: PROPERTY.origin, value: component.origin },
    ],
  };
}

const ECOSYSTEMS: Record<string, Ecosystem> = { npm: 'npm', pypi: 'PyPI', golang: 'Go' };
const ORIGINS = new Set<Origin>(['registry', 'workspace', 'local', 'git', 'url']);
const SCOPES = new Set<Scope>(['required', 'optional', 'excluded']);

/**
 * The flat list vulnerability scanning and policies read, from a document this module wrote (stored
 * documents keep everything it needs). Components of other ecosystems are skipped.
 */
export function componentsOf(document: unknown): Component[] {
  const list = isRecord(document) && Array.isArray(document.components) ? document.components : [];
  const out: Component[] = [];
  for (const item of list) {
    if (!isRecord(item) || typeof item.purl !== 'string' || typeof item.name !== 'string') continue;
    const type = /^pkg:([a-z]+)\//.exec(item.purl)?.[1];
    const ecosystem = type ? ECOSYSTEMS[type] : undefined;
    if (!ecosystem) continue;
    const properties = Array.isArray(item.properties) ? item.properties.filter(isRecord) : [];
    const property = (name: string): unknown => properties.find((entry) => entry.name === name)?.value;
    const origin = property(PROPERTY.origin) as Origin;
    out.push({
      ecosystem,
      name: typeof item.group === 'string' && item.group !== '' ? `${item.group}/${item.name}` : item.name,
      version: typeof item.version === 'string' ? item.version : '',
      purl: item.purl,
      licenses: licenseTexts(item.licenses),
      scope: SCOPES.has(item.scope as Scope) ? (item.scope as Scope) : 'required',
      direct: property(PROPERTY.direct) === 'true',
      origin: ORIGINS.has(origin) ? origin : 'registry',
    });
  }
  return out;
}

/** SPDX ids, expressions, or free-text names, as the document holds them. */
export function licenseTexts(licenses: unknown): string[] {
  if (!Array.isArray(licenses)) return [];
  const out: string[] = [];
  for (const choice of licenses) {
    if (!isRecord(choice)) continue;
    if (typeof choice.expression === 'string') out.push(choice.expression);
    else if (isRecord(choice.license)) {
      const text = typeof choice.license.id === 'string' ? choice.license.id : choice.license.name;
      if (typeof text === 'string') out.push(text);
    }
  }
  return out;
}

/** The document with its keys in the order this module writes them (unknown keys after, sorted). */
export function canonicalCycloneDx<T>(document: T): T {
  if (!isRecord(document)) return document;
  const metadata = isRecord(document.metadata) ? document.metadata : undefined;
  return ordered(document, ['$schema', 'bomFormat', 'specVersion', 'serialNumber', 'version', 'metadata', 'components', 'dependencies', 'compositions'], {
    metadata: () =>
      metadata &&
      ordered(metadata, ['timestamp', 'lifecycles', 'tools', 'component', 'properties'], {
        lifecycles: (value) => mapRecords(value, (item) => ordered(item, ['phase'])),
        tools: (value) => (isRecord(value) ? ordered(value, ['components'], { components: (list) => mapRecords(list, orderComponent) }) : value),
        component: (value) => (isRecord(value) ? orderComponent(value) : value),
        properties: orderProperties,
      }),
    components: (value) => mapRecords(value, orderComponent),
    dependencies: (value) => mapRecords(value, (item) => ordered(item, ['ref', 'dependsOn'])),
    compositions: (value) => mapRecords(value, (item) => ordered(item, ['aggregate', 'assemblies', 'dependencies'])),
  }) as T;
}

function orderComponent(component: Record<string, unknown>): Record<string, unknown> {
  return ordered(component, ['type', 'bom-ref', 'group', 'name', 'version', 'scope', 'hashes', 'licenses', 'purl', 'externalReferences', 'properties'], {
    hashes: orderHashes,
    licenses: (value) =>
      mapRecords(value, (choice) => ordered(choice, ['license', 'expression'], { license: (license) => (isRecord(license) ? ordered(license, ['id', 'name']) : license) })),
    externalReferences: (value) => mapRecords(value, (reference) => ordered(reference, ['type', 'url', 'hashes'], { hashes: orderHashes })),
    properties: orderProperties,
  });
}

const orderHashes = (value: unknown): unknown => mapRecords(value, (hash) => ordered(hash, ['alg', 'content']));
const orderProperties = (value: unknown): unknown => mapRecords(value, (property) => ordered(property, ['name', 'value']));

function ordered(source: Record<string, unknown>, keys: readonly string[], nested: Record<string, (value: unknown) => unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rest = Object.keys(source)
    .filter((key) => !keys.includes(key))
    .sort();
  for (const key of [...keys, ...rest]) {
    if (!(key in source) || source[key] === undefined) continue;
    out[key] = nested[key] ? nested[key](source[key]) : source[key];
  }
  return out;
}

function mapRecords(value: unknown, fn: (item: Record<string, unknown>) => unknown): unknown {
  return Array.isArray(value) ? value.map((item) => (isRecord(item) ? fn(item) : item)) : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
