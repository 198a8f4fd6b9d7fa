import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_ORGANISATION_POLICIES,
  DEFAULT_POLICIES,
  effectivePolicies,
  evaluatePolicies,
  loadOrganisationPolicies,
  type OrganisationPolicies,
  type PolicyFacts,
  type Waiver,
} from '../../src/policy/index.js';
import { rejection } from '../errors.js';
import { DIGEST, input } from './facts.js';
import { advisories, findingsOf } from './osv.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
const folders: string[] = [];

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-policies-'));
  folders.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

afterEach(async () => {
  await Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const names = (organisation: OrganisationPolicies) => organisation.policies.map((p) => `${p.source}:${p.name}`);

describe('where policies come from', () => {
  it("without a folder, Maestro's defaults apply: SBOM, signature, no critical vulnerabilities, tests, a scan", async () => {
    expect(await loadOrganisationPolicies(undefined)).toBe(DEFAULT_ORGANISATION_POLICIES);
    expect(names(DEFAULT_ORGANISATION_POLICIES)).toEqual([
      'default:sbom-present',
      'default:artifact-signed',
      'default:no-critical-vulnerabilities',
      'default:tests-passed',
      'default:vulnerability-scan-complete',
    ]);
    expect(evaluatePolicies(DEFAULT_POLICIES, input(), [], new Date()).outcome).toBe('allow');
    for (const broken of [
      { sbom: undefined },
      { artifact: { digest: DIGEST, signed: false } },
      { build: { testsPassed: false, durationMs: 1 } },
      { vulnerabilities: { status: 'complete' as const, findings: [{ id: 'GHSA-jf85-cpcp-j695', severity: 'CRITICAL' }] } },
    ] satisfies Partial<PolicyFacts>[]) {
      expect(evaluatePolicies(DEFAULT_POLICIES, input(broken), [], new Date()).outcome).toBe('deny');
    }
    // No scan: said, not enforced.
    const unscanned = evaluatePolicies(DEFAULT_POLICIES, input({ vulnerabilities: undefined }), [], new Date());
    expect(unscanned.outcome).toBe('allow');
    expect(unscanned.results.find((r) => !r.passed)).toMatchObject({ policy: 'vulnerability-scan-complete', action: 'warn' });
  });

  it('the example folder adds its policies to the defaults, files in name order', async () => {
    const organisation = await loadOrganisationPolicies(EXAMPLES);
    expect(names(organisation)).toEqual([
      ...DEFAULT_POLICIES.map((p) => `default:${p.name}`),
      'organisation:line-coverage',
      'organisation:weekend-freeze',
      'organisation:weekend-freeze-notice',
      'organisation:no-critical-or-high-vulnerabilities',
    ]);
    expect(organisation.files.map((file) => file.slice(EXAMPLES.length))).toEqual(['coverage.yml', 'freeze-window.yml', 'vulnerabilities.yml']);
  });

  it('an organisation replaces a default by its name, or drops them all with defaults: false', async () => {
    const replaced = await loadOrganisationPolicies(
      await folder({ 'scan.yaml': 'policies:\n  - {name: vulnerability-scan-complete, expression: "input.vulnerabilities.status == \'complete\'", message: scan it}\n', 'notes.txt': 'not a policy file' }),
    );
    expect(replaced.policies.filter((p) => p.name === 'vulnerability-scan-complete')).toEqual([
      expect.objectContaining({ source: 'organisation', action: 'deny', message: 'scan it' }),
    ]);
    expect(replaced.policies).toHaveLength(DEFAULT_POLICIES.length);

    const dropped = await loadOrganisationPolicies(await folder({ 'a.yml': 'defaults: false\npolicies:\n  - {name: signed, expression: input.artifact.signed, message: m}\n', 'b.yml': 'policies: []\n' }));
    expect(names(dropped)).toEqual(['organisation:signed']);
    expect(dropped.defaultsDropped).toBe(true);
  });

  it("a project's policy of an organisation policy's name runs beside it: a project only tightens", async () => {
    const organisation = await loadOrganisationPolicies(EXAMPLES);
    const policies = effectivePolicies(organisation, [
      // Looser than the organisation's: it does not replace it.
      { name: 'line-coverage', action: 'warn', expression: 'true', message: 'never mind coverage' },
      { name: 'licenses', action: 'deny', expression: 'input.sbom.licenses.all(l, l in ["MIT", "Apache-2.0"])', message: 'only MIT or Apache-2.0' },
    ]);
    const lowCoverage = input({ build: { testsPassed: true, durationMs: 5, lineCoverage: 61 }, sbom: { complete: true, components: [{ name: 'x', version: '1', licenses: ['GPL-3.0-only'] }] } });
    const decision = evaluatePolicies(policies, lowCoverage, [], new Date('2025-03-12T10:30:00Z'));
    expect(decision.outcome).toBe('deny');
    expect(decision.results.filter((r) => !r.passed).map((r) => `${r.source}:${r.policy}`)).toEqual(['organisation:line-coverage', 'project:licenses']);
    expect(decision.results.filter((r) => r.policy === 'line-coverage').map((r) => [r.source, r.passed])).toEqual([
      ['organisation', false],
      ['project', true],
    ]);
  });

  it('refuses a folder with a broken file, naming each problem as file:line:col, and two files defining one name', async () => {
    const broken = await folder({ 'a.yml': 'policies:\n  - name: a\n    expression: input.artifact.sined\n    message: m\n', 'b.yml': 'policies:\n  - {name: b, action: stop, expression: "true", message: m}\n' });
    const error = await rejection(loadOrganisationPolicies(broken));
    expect(error.code).toBe('validation_error');
    expect(error.message).toContain(`${join(broken, 'a.yml')}:3:32: policies[0].expression: input.artifact has no field \`sined\`; did you mean \`signed\`?`);
    expect(error.message).toContain(`${join(broken, 'b.yml')}:2:23: policies[0].action: must be one of deny, warn, got "stop"`);

    const twice = await folder({ 'a.yml': 'policies:\n  - {name: same, expression: "true", message: m}\n', 'b.yml': 'policies:\n  - {name: same, expression: "false", message: m}\n' });
    expect((await rejection(loadOrganisationPolicies(twice))).message).toMatch(/policy "same" is defined in .*a\.yml and in .*b\.yml; keep one/);

    expect((await rejection(loadOrganisationPolicies(join(broken, 'missing')))).message).toMatch(/does not exist or is not a folder/);
  });
});

describe('the example policies', () => {
  const day = (iso: string) => input({ now: new Date(iso) });
  let organisation: OrganisationPolicies;
  const decide = async (document: ReturnType<typeof input>, waivers: Waiver[] = [], now = new Date('2025-03-12T10:30:00Z')) => {
    organisation ??= await loadOrganisationPolicies(EXAMPLES);
    return evaluatePolicies(organisation.policies, document, waivers, now);
  };
  const failed = async (document: ReturnType<typeof input>, waivers: Waiver[] = []) =>
    (await decide(document, waivers)).results.filter((r) => !r.passed && !r.waived).map((r) => r.policy);

  it('coverage: at least 80% of lines in production; no coverage reported fails too; previews are not held to it', async () => {
    expect(await failed(input({ build: { testsPassed: true, durationMs: 1, lineCoverage: 80 } }))).toEqual([]);
    expect(await failed(input({ build: { testsPassed: true, durationMs: 1, lineCoverage: 79.9 } }))).toEqual(['line-coverage']);
    expect(await failed(input({ build: { testsPassed: true, durationMs: 1 } }))).toEqual(['line-coverage']);
    expect(await failed(input({ environment: { name: 'pr-4', kind: 'preview' }, build: { testsPassed: true, durationMs: 1 } }))).toEqual([]);
  });

  it('no critical or high vulnerabilities, with the real advisories, unless waived for the artifact', async () => {
    const all = advisories();
    const vulnerable = input({ vulnerabilities: { status: 'complete', findings: findingsOf(all) } });
    expect(await failed(vulnerable)).toEqual(['no-critical-vulnerabilities', 'no-critical-or-high-vulnerabilities']);

    const highOnly = all.filter((a) => a.severity === 'HIGH' || a.severity === 'MODERATE' || a.severity === 'LOW');
    expect(await failed(input({ vulnerabilities: { status: 'complete', findings: findingsOf(highOnly) } }))).toEqual(['no-critical-or-high-vulnerabilities']);
    const mild = all.filter((a) => a.severity === 'MODERATE' || a.severity === 'LOW');
    expect(await failed(input({ vulnerabilities: { status: 'complete', findings: findingsOf(mild) } }))).toEqual([]);

    const waivers: Waiver[] = ['no-critical-vulnerabilities', 'no-critical-or-high-vulnerabilities'].map((policy, i) => ({
      id: `wvr_${i}`,
      policy,
      artifactDigest: DIGEST,
      waivedBy: 'grace',
      reason: 'the vulnerable code paths are not reachable',
      expiresAt: new Date('2025-04-01T00:00:00Z'),
    }));
    const decision = await decide(vulnerable, waivers);
    expect(decision.outcome).toBe('allow');
    expect(decision.results.filter((r) => r.waived).map((r) => r.policy)).toEqual(['no-critical-vulnerabilities', 'no-critical-or-high-vulnerabilities']);
  });

  it('freeze window: production is closed from Friday 16:00 to Monday 06:00 UTC', async () => {
    const frozen = async (iso: string) => (await failed(day(iso))).includes('weekend-freeze');
    expect(await frozen('2025-03-14T15:59:59Z')).toBe(false);
    expect(await frozen('2025-03-14T16:00:00Z')).toBe(true);
    expect(await frozen('2025-03-15T12:00:00Z')).toBe(true);
    expect(await frozen('2025-03-16T23:59:59Z')).toBe(true);
    expect(await frozen('2025-03-17T05:59:59Z')).toBe(true);
    expect(await frozen('2025-03-17T06:00:00Z')).toBe(false);
    // The same Saturday, a preview deploys with a warning.
    const preview = await decide(input({ now: new Date('2025-03-15T12:00:00Z'), environment: { name: 'pr-9', kind: 'preview' } }));
    expect(preview.outcome).toBe('allow');
    expect(preview.results.find((r) => r.policy === 'weekend-freeze-notice')).toMatchObject({ action: 'warn', passed: false });
  });
});
