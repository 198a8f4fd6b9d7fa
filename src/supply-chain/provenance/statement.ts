/**
 * In-toto statements about an artifact: SLSA Provenance v1 (how it was built) and a CycloneDX SBOM
 * (what is in it). Pure: the same facts give the same statement.
 */
import { MaestroError } from '../../common/index.js';
import { CYCLONEDX_BOM, IN_TOTO_STATEMENT_V1, MAESTRO_BUILDER_ID, MAESTRO_BUILD_TYPE, SLSA_PROVENANCE_V1, SOURCE_ARCHIVE_NAME } from './constants.js';

export type DigestSet = Record<string, string>;

/** in-toto ResourceDescriptor: at least one of uri, digest or content. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = unknown> {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: Array<{ name: string; digest: DigestSet }>;
  predicateType: string;
  predicate: P;
}

/** The artifact a statement is about. */
export interface ArtifactSubject {
  /** sha256 of its bytes, 64 lowercase hex. */
  digest: string;
  /** A file name for it, e.g. `hello-web.tar.gz`. */
  name: string;
}

/** What the pipeline knows of a build, in its own words; `provenanceStatement` puts it in SLSA's. */
export interface ProvenanceFacts {
  artifact: ArtifactSubject;
  buildId: string;
  /** Who built it; MAESTRO_BUILDER_ID unless the installation names itself. */
  builderId?: string;
  /** Maestro's version, recorded as the builder's version. */
  builderVersion?: string;
  project: string;
  service: string;
  environment: string;
  source: {
    /** sha256 of the source archive the build unpacked (every build has one, from a folder or a commit). */
    digest: string;
    /** Where the commit came from, e.g. `https://github.com/octo/hello` or Maestro's own git remote. */
    repository?: string;
    /** `refs/heads/main`, `refs/tags/v1.2.0`, ... */
    ref?: string;
    /** The git commit (40 or 64 hex) when the source came from git. */
    commit?: string;
  };
  /** sha256 of the maestro.yml the build followed. */
  manifestDigest: string;
  /** How the steps were isolated: e.g. `bubblewrap`, or `none` when unsandboxed. */
  sandbox: string;
  /** The steps that ran, in order. */
  steps: ReadonlyArray<{ name: string; command?: string }>;
  /** Tool versions the build saw, e.g. `{node: 'v20.19.0', npm: '10.8.2'}`. */
  toolchains?: Readonly<Record<string, string>>;
  startedOn: Date;
  finishedOn: Date;
}

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: {
      project: string;
      service: string;
      environment: string;
      repository?: string;
      ref?: string;
      commit?: string;
      manifest: { path: string; digest: DigestSet };
      source: { digest: DigestSet };
    };
    internalParameters: {
      sandbox: string;
      steps: Array<{ name: string; command?: string }>;
    };
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata: { invocationId: string; startedOn: string; finishedOn: string };
  };
}

const SHA256 = /^[0-9a-f]{64}$/;
const GIT_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The SLSA Provenance v1 statement of a build. Facts that do not hold together are refused with what to fix. */
export function provenanceStatement(facts: ProvenanceFacts): Statement<SlsaProvenance> {
  const subject = checkSubject(facts.artifact);
  for (const [field, value] of [
    ['buildId', facts.buildId],
    ['project', facts.project],
    ['service', facts.service],
    ['environment', facts.environment],
    ['sandbox', facts.sandbox],
  ] as const) {
    checkText(field, value);
  }
  checkSha256('source.digest', facts.source.digest);
  checkSha256('manifestDigest', facts.manifestDigest);
  const { repository, ref, commit } = facts.source;
  if (commit !== undefined && !GIT_COMMIT.test(commit)) {
    throw new MaestroError('validation_error', `source.commit must be a full git commit id (40 or 64 lowercase hex), got ${JSON.stringify(commit.slice(0, 80))}`, {
      field: 'source.commit',
    });
  }
  const builderId = facts.builderId ?? MAESTRO_BUILDER_ID;
  checkUri('builderId', builderId);
  const startedOn = checkDate('startedOn', facts.startedOn);
  const finishedOn = checkDate('finishedOn', facts.finishedOn);
  if (facts.finishedOn.getTime() < facts.startedOn.getTime()) {
    throw new MaestroError('validation_error', `finishedOn (${finishedOn}) is before startedOn (${startedOn})`, { field: 'finishedOn' });
  }
  facts.steps.forEach((step, index) => checkText(`steps[${index}].name`, step.name));

  const resolvedDependencies: ResourceDescriptor[] = [
    { name: SOURCE_ARCHIVE_NAME, digest: { sha256: facts.source.digest }, mediaType: 'application/gzip' },
  ];
  if (commit !== undefined) {
    resolvedDependencies.push({
      ...(repository ? { uri: `git+${repository}${ref ? `@${ref}` : ''}` } : {}),
      digest: { gitCommit: commit },
    });
  }
  for (const [tool, version] of Object.entries(facts.toolchains ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    checkText(`toolchains.${tool}`, version);
    // The version is a tool's own output ("Python 3.11.2", "go version go1.22.1 linux/amd64"); encoded, it is a valid purl version.
    resolvedDependencies.push({ name: tool, uri: `pkg:generic/${encodeURIComponent(tool)}@${encodeURIComponent(version)}` });
  }

  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [subject],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MAESTRO_BUILD_TYPE,
        externalParameters: {
          project: facts.project,
          service: facts.service,
          environment: facts.environment,
          ...(repository ? { repository } : {}),
          ...(ref ? { ref } : {}),
          ...(commit ? { commit } : {}),
          manifest: { path: 'maestro.yml', digest: { sha256: facts.manifestDigest } },
          source: { digest: { sha256: facts.source.digest } },
        },
        internalParameters: {
          sandbox: facts.sandbox,
          steps: facts.steps.map((step) => ({ name: step.name, ...(step.command ? { command: step.command } : {}) })),
        },
        resolvedDependencies,
      },
      runDetails: {
        builder: { id: builderId, ...(facts.builderVersion ? { version: { maestro: facts.builderVersion } } : {}) },
        metadata: { invocationId: facts.buildId, startedOn, finishedOn },
      },
    },
  };
}

/** The statement that carries a CycloneDX document (JSON) as its predicate. */
export function sbomStatement(artifact: ArtifactSubject, bom: unknown): Statement<Record<string, unknown>> {
  const subject = checkSubject(artifact);
  if (typeof bom !== 'object' || bom === null || Array.isArray(bom) || (bom as { bomFormat?: unknown }).bomFormat !== 'CycloneDX') {
    throw new MaestroError('validation_error', 'the SBOM must be a CycloneDX JSON document (an object with "bomFormat": "CycloneDX")', { field: 'bom' });
  }
  return { _type: IN_TOTO_STATEMENT_V1, subject: [subject], predicateType: CYCLONEDX_BOM, predicate: bom as Record<string, unknown> };
}

function checkSubject(artifact: ArtifactSubject): { name: string; digest: DigestSet } {
  checkSha256('artifact.digest', artifact.digest);
  checkText('artifact.name', artifact.name);
  return { name: artifact.name, digest: { sha256: artifact.digest } };
}

function checkText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MaestroError('validation_error', `${field} must be a non-empty string`, { field });
  }
}

function checkSha256(field: string, value: unknown): void {
  if (typeof value !== 'string' || !SHA256.test(value)) {
    throw new MaestroError('validation_error', `${field} must be a sha256 digest (64 lowercase hex), got ${JSON.stringify(String(value).slice(0, 80))}`, {
      field,
    });
  }
}

function checkUri(field: string, value: string): void {
  let ok = false;
  try {
    ok = new URL(value).protocol.length > 1;
  } catch {
    ok = false;
  }
  if (!ok) throw new MaestroError('validation_error', `${field} must be a URI such as ${MAESTRO_BUILDER_ID}, got ${JSON.stringify(value.slice(0, 80))}`, { field });
}

function checkDate(field: string, value: Date): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new MaestroError('validation_error', `${field} must be a valid date`, { field });
  }
  return value.toISOString();
}
