/**
 * SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/) from a CycloneDX document this module
 * wrote: the service as the described package, each component a package with its purl, checksums
 * and declared license, and DEPENDS_ON relationships as the dependency graph has them. Pure: the
 * same document gives the same bytes (creation time and namespace come from the document).
 */
import { createHash } from 'node:crypto';
import { SERVICE_REF_PREFIX, licenseTexts } from './cyclonedx.js';
import { spdxExpression, spdxId } from './licenses.js';

export interface SpdxOptions {
  /** Base URI the document namespace is made under (default https://maestro.invalid/spdx). */
  namespaceBase?: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: Array<{ algorithm: string; checksumValue: string }>;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  externalRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }>;
  primaryPackagePurpose: string;
  comment?: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
  hasExtractedLicensingInfos?: Array<{ licenseId: string; extractedText: string; name: string }>;
}

const CHECKSUM_ALGORITHMS: Record<string, string> = { 'SHA-1': 'SHA1', 'SHA-256': 'SHA256', 'SHA-384': 'SHA384', 'SHA-512': 'SHA512', MD5: 'MD5' };

export function toSpdx(result: { document: unknown }, options: SpdxOptions = {}): SpdxDocument {
  const document = record(result.document);
  const metadata = record(document.metadata);
  const root = record(metadata.component);
  const tools = Array.isArray(record(metadata.tools).components) ? (record(metadata.tools).components as unknown[]).map(record) : [];
  const serviceName = text(root.name) ?? 'service';
  const serial = (text(document.serialNumber) ?? '').replace(/^urn:uuid:/, '');
  const base = (options.namespaceBase ?? 'https://maestro.invalid/spdx').replace(/\/+$/, '');

  const ids = new Map<string, string>();
  const usedIds = new Set<string>(['SPDXRef-DOCUMENT']);
  const rootRef = text(root['bom-ref']) ?? `${SERVICE_REF_PREFIX}${serviceName}`;
  const rootId = uniqueId(`SPDXRef-Service-${serviceName}`, usedIds);
  ids.set(rootRef, rootId);

  const extracted = new Map<string, { licenseId: string; extractedText: string; name: string }>();
  const packages: SpdxPackage[] = [
    {
      SPDXID: rootId,
      name: serviceName,
      ...(text(root.version) ? { versionInfo: text(root.version)! } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'APPLICATION',
    },
  ];
  const components = Array.isArray(document.components) ? document.components.map(record) : [];
  for (const component of components) {
    const ref = text(component['bom-ref']);
    const name = text(component.group) ? `${text(component.group)}/${text(component.name) ?? ''}` : (text(component.name) ?? '');
    if (!ref || !name) continue;
    const version = text(component.version);
    const id = uniqueId(`SPDXRef-Package-${name}-${version ?? ''}-${createHash('sha256').update(ref).digest('hex').slice(0, 8)}`, usedIds);
    ids.set(ref, id);
    const references = Array.isArray(component.externalReferences) ? component.externalReferences.map(record) : [];
    const download = references.find((reference) => reference.type === 'distribution' || reference.type === 'vcs');
    const checksums = (Array.isArray(component.hashes) ? component.hashes.map(record) : [])
      .map((hash) => ({ algorithm: CHECKSUM_ALGORITHMS[text(hash.alg) ?? ''] ?? '', checksumValue: text(hash.content) ?? '' }))
      .filter((checksum) => checksum.algorithm !== '' && checksum.checksumValue !== '');
    const purl = text(component.purl);
    const scope = text(component.scope);
    packages.push({
      SPDXID: id,
      name,
      ...(version ? { versionInfo: version } : {}),
      downloadLocation: downloadLocation(text(download?.url)),
      filesAnalyzed: false,
      ...(checksums.length > 0 ? { checksums } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declaredLicense(licenseTexts(component.licenses), extracted),
      copyrightText: 'NOASSERTION',
      ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] } : {}),
      primaryPackagePurpose: 'LIBRARY',
      ...(scope && scope !== 'required' ? { comment: scope === 'excluded' ? 'development dependency (not needed at run time)' : 'optional dependency' } : {}),
    });
  }

  const relationships: SpdxDocument['relationships'] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId }];
  for (const entry of Array.isArray(document.dependencies) ? document.dependencies.map(record) : []) {
    const from = ids.get(text(entry.ref) ?? '');
    if (!from) continue;
    for (const target of Array.isArray(entry.dependsOn) ? entry.dependsOn : []) {
      const to = typeof target === 'string' ? ids.get(target) : undefined;
      if (to) relationships.push({ spdxElementId: from, relationshipType: 'DEPENDS_ON', relatedSpdxElement: to });
    }
  }

  const created = (text(metadata.timestamp) ?? new Date(0).toISOString()).replace(/\.\d+Z$/, 'Z');
  const toolNames = tools.map((tool) => `Tool: ${text(tool.name) ?? 'maestro'}-${text(tool.version) ?? 'unknown'}`);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${serviceName} dependencies`,
    documentNamespace: `${base}/${encodeURIComponent(serviceName)}/${serial || createHash('sha256').update(JSON.stringify(document)).digest('hex')}`,
    creationInfo: {
      created,
      creators: toolNames.length > 0 ? toolNames : ['Tool: maestro'],
      ...(text(document.serialNumber) ? { comment: `Converted from CycloneDX BOM ${text(document.serialNumber)}` } : {}),
    },
    documentDescribes: [rootId],
    packages,
    relationships,
    ...(extracted.size > 0 ? { hasExtractedLicensingInfos: [...extracted.values()] } : {}),
  };
}

/** A valid SPDX expression as is; other text becomes a LicenseRef with the text kept beside it. */
function declaredLicense(licenses: string[], extracted: Map<string, { licenseId: string; extractedText: string; name: string }>): string {
  if (licenses.length === 0) return 'NOASSERTION';
  const parts = licenses.map((license) => {
    const expression = spdxId(license) ?? spdxExpression(license);
    if (expression) return licenses.length > 1 && /\s/.test(expression) ? `(${expression})` : expression;
    const licenseId = `LicenseRef-${license.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}`;
    extracted.set(licenseId, { licenseId, extractedText: license, name: license });
    return licenseId;
  });
  return parts.join(' AND ');
}

/** SPDX allows a URL, a VCS locator or NOASSERTION; anything else (a bare file name) says nothing. */
function downloadLocation(url: string | undefined): string {
  if (!url) return 'NOASSERTION';
  return /^(https?|git\+[a-z]+|git|ssh|svn|hg|bzr)(:|\+)/.test(url) ? url : 'NOASSERTION';
}

/** `SPDXRef-` followed only by letters, digits, `.` and `-`, unique within the document. */
function uniqueId(candidate: string, used: Set<string>): string {
  const base = candidate.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-+$/g, '');
  let id = base;
  for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
  used.add(id);
  return id;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
