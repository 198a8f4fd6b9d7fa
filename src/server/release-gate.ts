import { posix } from 'node:path';
import type { ContentStore } from '../build/index.js';
import { MaestroError, errorMessage } from '../common/index.js';
import { buildPolicyInput, formatDecision, gatePolicies, type EnvironmentKind, type GateResult, type OrganisationPolicies, type PolicyFacts } from '../policy/index.js';
import { MAESTRO_BUILDER_ID } from '../supply-chain/provenance/index.js';
import type { Build, BuildStep, Deployment, Store } from '../store/index.js';
import type { BuildEvidence, BuildEvidenceSummary } from './build-evidence.js';
import type { DeploymentLog } from './deployment-log.js';
import type { DeploymentPlan } from './deployer.js';
import { readFileFromSource } from './source-files.js';

export interface ReleaseGateDeps {
  store: Store;
  artifacts: ContentStore;
  evidence: BuildEvidence;
  /** The organisation's policies and the defaults, as `maestro up` loaded them. */
  policies: OrganisationPolicies;
}

/** Where a test step's Istanbul `json-summary` reporter writes (`c8 --reporter=json-summary`, `vitest --coverage`, `jest --coverage`). */
export const COVERAGE_SUMMARY = 'coverage/coverage-summary.json';

/**
 * The gate every release passes before it reaches an environment: the build's evidence is made (or
 * found), the artifact is verified against its signed provenance, and the policies are evaluated over
 * all of it. Anything short of "verified and allowed" throws, and the deployment fails with why.
 */
export class ReleaseGate {
  constructor(private readonly deps: ReleaseGateDeps) {}

  /** A build's evidence, made once: its SBOM, vulnerability scan and signed attestations. */
  async evidenceFor(deployment: Deployment, build: Build): Promise<BuildEvidenceSummary> {
    try {
      return await this.deps.evidence.ensure(deployment, build);
    } catch (error) {
      throw new MaestroError('internal', `the build's evidence (SBOM, vulnerability scan, signed provenance) could not be made: ${errorMessage(error)}`);
    }
  }

  async admit(deployment: Deployment, build: Build, log: DeploymentLog): Promise<GateResult> {
    const { store, evidence } = this.deps;
    const plan = deployment.config as DeploymentPlan;
    const artifactDigest = build.artifactDigest!;
    const summary = await this.evidenceFor(deployment, build);
    const verification = await evidence.verify(artifactDigest, { source: { digest: deployment.sourceDigest } });
    await log.step('verify', 'succeeded', { artifact: artifactDigest, checks: verification.checks.map((check) => `${check.name}: ${check.detail}`) });

    const facts = releaseFacts({
      deployment,
      plan,
      build,
      steps: await store.buildSteps.list(build.id),
      evidence: summary,
      environmentKind: await this.environmentKind(deployment, plan),
      lineCoverage: await this.lineCoverage(artifactDigest, plan.service.path),
      now: new Date(),
    });
    const decision = await gatePolicies({
      store,
      project: plan.service.project,
      environment: plan.service.environment,
      input: buildPolicyInput(facts),
      organisation: this.deps.policies,
      ...(plan.policies ? { projectPolicies: plan.policies } : {}),
      deploymentId: deployment.id,
    });
    for (const line of formatDecision(decision)) await log.line(line, 'stdout', 'policy');
    await log.step('policy', decision.outcome === 'allow' ? 'succeeded' : 'failed', { evaluation: decision.evaluationId, outcome: decision.outcome });
    if (decision.outcome === 'deny') {
      throw new MaestroError('permission_denied', `policy gate: ${decision.reason}`, { evaluation: decision.evaluationId });
    }
    return decision;
  }

  private async environmentKind(deployment: Deployment, plan: DeploymentPlan): Promise<EnvironmentKind> {
    if (plan.service.environment === 'production') return 'production';
    if (plan.preview) return 'preview';
    const preview = await this.deps.store.previews.getByName(deployment.projectId, plan.service.environment);
    return preview ? 'preview' : 'other';
  }

  /** Line coverage the test step left in the artifact, when it wrote an Istanbul summary. */
  private async lineCoverage(artifactDigest: string, servicePath: string): Promise<number | undefined> {
    const name = posix.join(servicePath, COVERAGE_SUMMARY);
    const text = await readFileFromSource(this.deps.artifacts.path(artifactDigest), name).catch(() => undefined);
    return text === undefined ? undefined : lineCoverageOf(text);
  }
}

/** `total.lines.pct` of an Istanbul json-summary; undefined when the file says something else. */
export function lineCoverageOf(summaryJson: string): number | undefined {
  try {
    const pct = (JSON.parse(summaryJson) as { total?: { lines?: { pct?: unknown } } }).total?.lines?.pct;
    return typeof pct === 'number' && pct >= 0 && pct <= 100 ? pct : undefined;
  } catch {
    return undefined;
  }
}

export interface ReleaseFactsInput {
  deployment: Deployment;
  plan: DeploymentPlan;
  build: Build;
  steps: readonly BuildStep[];
  evidence: BuildEvidenceSummary;
  environmentKind: EnvironmentKind;
  lineCoverage?: number | undefined;
  now: Date;
}

/**
 * What policies are told about a release, from what the build, its evidence and the deployment say.
 * Pure. The artifact counts as signed only because the caller verified it just before.
 */
export function releaseFacts(input: ReleaseFactsInput): PolicyFacts {
  const { deployment, plan, build, evidence } = input;
  const test = input.steps.find((step) => step.name === 'test');
  // No test step configured, or one that passed (now or in the build whose output was reused).
  const testsPassed = test === undefined || test.status === 'succeeded' || (test.status === 'skipped' && test.cache === 'hit') || !test.command;
  const started = build.startedAt ?? build.createdAt;
  const finished = build.finishedAt ?? started;
  return {
    project: plan.service.project,
    service: plan.service.service,
    environment: { name: plan.service.environment, kind: input.environmentKind },
    actor: deployment.createdBy ?? 'unknown',
    now: input.now,
    build: {
      testsPassed: build.status === 'succeeded' && testsPassed,
      durationMs: Math.max(0, finished.getTime() - started.getTime()),
      ...(input.lineCoverage === undefined ? {} : { lineCoverage: input.lineCoverage }),
    },
    sbom: { complete: evidence.sbom.complete, components: evidence.sbom.components },
    vulnerabilities: {
      status: evidence.vulnerabilities.status,
      findings: evidence.vulnerabilities.findings.map((finding) => ({ id: finding.id, severity: finding.severity })),
    },
    artifact: {
      digest: build.artifactDigest!,
      signed: true,
      provenance: { verified: true, builder: MAESTRO_BUILDER_ID, source: deployment.commit ?? `sha256:${deployment.sourceDigest}` },
    },
  };
}
