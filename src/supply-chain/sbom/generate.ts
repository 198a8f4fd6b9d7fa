/**
 * A service's SBOM from the lockfiles of its source tree: CycloneDX 1.6 JSON, the flat component
 * list, whether it is complete and why not, and a digest of what was read. The same inputs give the
 * same bytes; the serial number and timestamp come from that digest and `now`.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { buildCycloneDx, componentsOf, type CdxProperty, type CycloneDxDocument, type MergedComponent } from './cyclonedx.js';
import { readSbomInputs } from './find-inputs.js';
import { placePackages } from './graph.js';
import { uniqueHashes } from './hashes.js';
import { problemText, type Component, type Scope } from './model.js';

export interface SbomInput {
  /** The unpacked source tree. */
  root: string;
  /** The service's folder inside it (maestro.yml's `path`; '' or '.' for the root). */
  servicePath: string;
  service: { name: string; version?: string };
  /** When the SBOM is made (default: now); it sets the timestamp and, with the inputs, the serial number. */
  now?: Date;
}

export interface SbomResult {
  /** CycloneDX 1.6 JSON. */
  document: CycloneDxDocument;
  /** Every component once (by purl), sorted by purl. */
  components: Component[];
  /** False when anything could not be read or pinned: `problems` says what and where. */
  complete: boolean;
  /** `file[:line]: what is wrong`, in the order they were found. */
  problems: string[];
  /** sha256 (hex) over the paths and digests of every file read; the same files give the same digest. */
  lockfileDigest: string;
}

const RANK: Record<Scope, number> = { excluded: 1, optional: 2, required: 3 };

export async function generateSbom(input: SbomInput): Promise<SbomResult> {
  const inputs = await readSbomInputs(input.root, input.servicePath);
  const lockfileDigest = digestOf(inputs.files);
  const now = input.now ?? new Date();
  const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');

  const merged = new Map<string, MergedComponent>();
  const rootDependsOn = new Set<string>();
  let graphComplete = true;
  for (const { file, graph } of inputs.graphs) {
    const placed = placePackages(graph);
    const purlOf = new Map(placed.map(({ pkg }) => [pkg.key, pkg.purl]));
    const knowsEdges = graph.dependenciesKnown;
    if (!knowsEdges && placed.length > 0) graphComplete = false;
    for (const { pkg, scope, direct } of placed) {
      if (direct) rootDependsOn.add(pkg.purl);
      const dependsOn = pkg.dependencies.map((edge) => purlOf.get(edge.to)).filter((purl): purl is string => purl !== undefined && purl !== pkg.purl);
      const known = merged.get(pkg.purl);
      if (!known) {
        merged.set(pkg.purl, {
          ecosystem: pkg.ecosystem,
          name: pkg.name,
          version: pkg.version,
          purl: pkg.purl,
          origin: pkg.origin,
          scope,
          direct,
          hashes: pkg.hashes,
          distributions: pkg.distributions,
          ...(pkg.downloadUrl ? { downloadUrl: pkg.downloadUrl } : {}),
          licenses: pkg.licenses,
          ...(knowsEdges ? { dependsOn } : {}),
          lockfiles: [file],
        });
        continue;
      }
      // The same package reached twice (two lockfiles, or two places in one tree): the strongest need wins.
      if (RANK[scope] > RANK[known.scope]) known.scope = scope;
      known.direct ||= direct;
      known.hashes = uniqueHashes([...known.hashes, ...pkg.hashes]);
      if (known.distributions.length === 0) known.distributions = pkg.distributions;
      if (known.licenses.length === 0) known.licenses = pkg.licenses;
      if (known.dependsOn !== undefined || knowsEdges) known.dependsOn = [...(known.dependsOn ?? []), ...dependsOn];
      if (!known.lockfiles.includes(file)) known.lockfiles.push(file);
    }
  }
  const components = [...merged.values()]
    .map((component) => ({ ...component, ...(component.dependsOn ? { dependsOn: [...new Set(component.dependsOn)].sort() } : {}) }))
    .sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));

  const problems = inputs.problems.map(problemText);
  const properties: CdxProperty[] = [
    ...inputs.files.map((file) => ({ name: 'maestro:input', value: `${file.path} sha256:${file.sha256}` })),
    { name: 'maestro:lockfile-digest', value: lockfileDigest },
    ...(inputs.goModule ? [{ name: 'maestro:go-module', value: inputs.goModule }] : []),
    ...problems.map((problem) => ({ name: 'maestro:problem', value: problem })),
  ];
  const document = buildCycloneDx({
    serialNumber: serialNumberOf(lockfileDigest, input.service, timestamp),
    timestamp,
    tool: { name: 'maestro', version: maestroVersion() },
    service: input.service,
    components,
    rootDependsOn: [...rootDependsOn].sort(),
    inventoryComplete: problems.length === 0,
    graphComplete,
    properties,
  });
  return { document, components: componentsOf(document), complete: problems.length === 0, problems, lockfileDigest };
}

/** Length-prefixed path and digest of each file, so no two different sets hash alike. */
function digestOf(files: ReadonlyArray<{ path: string; sha256: string }>): string {
  const hash = createHash('sha256').update('maestro-sbom-inputs-v1\0');
  for (const file of files) hash.update(`${Buffer.byteLength(file.path)}:${file.path}\0${file.sha256}\n`);
  return hash.digest('hex');
}

/** An RFC 4122 UUID (version 8: application-defined) from what the document describes and when. */
function serialNumberOf(lockfileDigest: string, service: SbomInput['service'], timestamp: string): string {
  const bytes = createHash('sha256').update(`${lockfileDigest}\0${service.name}\0${service.version ?? ''}\0${timestamp}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function maestroVersion(): string {
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}
