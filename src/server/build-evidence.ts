import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SOURCE_LIMITS, unpackSource, type ContentStore } from '../build/index.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import type { Build, Deployment, Store } from '../store/index.js';
import { SLSA_PROVENANCE_V1, attest, verifyArtifact, type Expectations, type SigningKey, type VerificationResult } from '../supply-chain/provenance/index.js';
import { generateSbom, type SbomResult } from '../supply-chain/sbom/index.js';
import type { VulnerabilityScanResult, VulnerabilityScanner } from '../supply-chain/vulns/index.js';
import type { DeploymentPlan } from './deployer.js';
import { readFileFromSource } from './source-files.js';

export interface EvidenceDeps {
  store: Store;
  sources: ContentStore;
  artifacts: ContentStore;
  /** Where sources are unpacked to read their lockfiles. */
  workDir: string;
  signingKey: () => SigningKey;
  scanner: VulnerabilityScanner;
  /** How builds are isolated here, for the provenance (`bubblewrap` or `none`). */
  sandbox: () => Promise<string>;
  builderVersion: string;
  logger: Logger;
}

/** What a build's evidence says, for gates and views. */
export interface BuildEvidenceSummary {
  sbom: SbomResult;
  vulnerabilities: VulnerabilityScanResult;
}

/**
 * Every built artifact gets its evidence before it may run: an SBOM of the service's resolved
 * dependencies (from the lockfiles of the source it was built from), a vulnerability scan of those
 * components, and signed attestations (SLSA provenance and the SBOM) about the artifact's bytes. The
 * control plane makes them (it holds the signing key), whichever runner built the artifact. A build
 * reused whole shares its artifact's attestations and copies its SBOM.
 */
export class BuildEvidence {
  constructor(private readonly deps: EvidenceDeps) {}

  async ensure(deployment: Deployment, build: Build): Promise<BuildEvidenceSummary> {
    const { store, logger } = this.deps;
    const plan = deployment.config as DeploymentPlan;
    const artifactDigest = build.artifactDigest;
    if (!artifactDigest) throw new MaestroError('internal', `build ${build.id} has no artifact`);
    const sbom = await this.sbomOf(build, plan);
    // Only packages from a registry have advisories; workspace, git and file dependencies are the project's own.
    const scanned = sbom.components.filter((component) => component.origin === 'registry');
    const vulnerabilities = await this.deps.scanner.scanBuild(build.id, scanned).catch((error: unknown) => {
      logger.warn({ build: build.id, err: errorMessage(error) }, 'vulnerability scan failed');
      throw error;
    });
    const existing = await store.attestations.get(artifactDigest, SLSA_PROVENANCE_V1);
    if (!existing) {
      const steps = await store.buildSteps.list(build.id).catch(() => []);
      const started = build.startedAt ?? build.createdAt;
      await attest(store, this.deps.signingKey(), {
        provenance: {
          artifact: { name: `${plan.service.project}/${plan.service.service}`, digest: artifactDigest },
          buildId: build.id,
          builderVersion: this.deps.builderVersion,
          project: plan.service.project,
          service: plan.service.service,
          environment: plan.service.environment,
          source: {
            digest: deployment.sourceDigest,
            ...(deployment.ref ? { ref: deployment.ref } : {}),
            ...(deployment.commit ? { commit: deployment.commit } : {}),
          },
          manifestDigest: await this.manifestDigest(deployment.sourceDigest),
          sandbox: await this.deps.sandbox(),
          steps: steps.filter((step) => step.status !== 'skipped').map((step) => ({ name: step.name, ...(step.command ? { command: step.command } : {}) })),
          toolchains: { node: process.version },
          startedOn: started,
          finishedOn: build.finishedAt ?? new Date(),
        },
        sbom: sbom.document,
      });
    }
    return { sbom, vulnerabilities };
  }

  /**
   * Checks an artifact against its attestation before it is unpacked to run (and, for a deployment,
   * that it was built from the deployment's source); throws with every failed check.
   */
  async verify(artifactDigest: string, expect?: Expectations): Promise<VerificationResult> {
    const { store, artifacts } = this.deps;
    if (!(await artifacts.has(artifactDigest))) throw new MaestroError('not_found', `artifact sha256:${artifactDigest} is not stored here`);
    const result = await verifyArtifact({ store, artifactDigest, artifact: artifacts.path(artifactDigest), ...(expect ? { expect } : {}) });
    if (!result.ok) {
      const failed = result.checks.filter((check) => !check.ok).map((check) => check.detail);
      throw new MaestroError('permission_denied', `artifact sha256:${artifactDigest.slice(0, 12)} does not verify, so it may not run: ${failed.join('; ')}`, {
        checks: result.checks,
      });
    }
    return result;
  }

  /**
   * The upgrade path: releases kept from before Maestro signed its builds get their evidence now, so a
   * rollback or restart can still verify them. It vouches for bytes as they are stored at this moment
   * (trust on first use), and says so in the log.
   */
  async backfill(releasesKept: number): Promise<number> {
    const { store, artifacts, logger } = this.deps;
    let attested = 0;
    for (const live of await store.live.list()) {
      for (const release of await store.releases.list(live.serviceId, live.environmentId, releasesKept)) {
        if (!release.deploymentId) continue;
        const revision = await store.revisions.get(release.revisionId);
        if (!revision || (await store.attestations.get(revision.artifactDigest, SLSA_PROVENANCE_V1))) continue;
        if (!(await artifacts.has(revision.artifactDigest))) continue;
        const deployment = await store.deployments.get(release.deploymentId);
        const build = deployment && (await store.builds.forDeployment(deployment.id)).find((b) => b.artifactDigest === revision.artifactDigest);
        if (!deployment || !build) continue;
        try {
          await this.ensure(deployment, build);
          attested += 1;
          logger.warn({ artifact: revision.artifactDigest, build: build.id }, 'attested an artifact built before builds were signed: it is vouched for as stored now');
        } catch (error) {
          logger.warn({ artifact: revision.artifactDigest, err: errorMessage(error) }, 'could not attest an artifact built before builds were signed; it will not run again');
        }
      }
    }
    return attested;
  }

  private async sbomOf(build: Build, plan: DeploymentPlan): Promise<SbomResult> {
    const { store, sources, workDir } = this.deps;
    const stored = await store.sboms.get(build.id);
    if (stored) return stored;
    const reused = build.artifactDigest ? await store.sboms.getByArtifact(build.artifactDigest) : undefined;
    if (reused) {
      await store.sboms.save(build.id, { ...reused, artifactDigest: build.artifactDigest });
      return reused;
    }
    const dir = await mkdtemp(join(workDir, `sbom-${build.id}-`));
    try {
      await unpackSource(sources.path(build.sourceDigest), dir, DEFAULT_SOURCE_LIMITS);
      const result = await generateSbom({ root: dir, servicePath: plan.service.path, service: { name: plan.service.service } });
      await store.sboms.save(build.id, { ...result, ...(build.artifactDigest ? { artifactDigest: build.artifactDigest } : {}) });
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async manifestDigest(sourceDigest: string): Promise<string> {
    const text = (await readFileFromSource(this.deps.sources.path(sourceDigest), 'maestro.yml')) ?? '';
    return createHash('sha256').update(text).digest('hex');
  }
}
