/**
 * Which policies apply to a project: Maestro's defaults, the organisation's files, the project's own.
 *
 * Names: an organisation policy named like a default replaces that default, and `defaults: false` in
 * any organisation file drops the defaults. Two organisation files may not define one name. A project
 * policy never replaces or removes anything: one named like an organisation (or default) policy is
 * checked in addition, and each result says which source it came from. So a project can only tighten.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaestroError } from '../common/index.js';
import { MAX_MANIFEST_BYTES, formatProblem, parsePolicyFile, type PolicyFile, type PolicySpec, type Problem } from '../manifest/index.js';
import { DEFAULT_POLICIES } from './defaults.js';
import type { Policy, PolicySource } from './types.js';

export interface OrganisationPolicies {
  /** The defaults that stay, then the organisation's own, in file order. */
  readonly policies: readonly Policy[];
  /** The files they came from (absolute paths, sorted). */
  readonly files: readonly string[];
  /** Whether an organisation file dropped the defaults. */
  readonly defaultsDropped: boolean;
}

/** Only the defaults: a Maestro started without `--policies`. */
export const DEFAULT_ORGANISATION_POLICIES: OrganisationPolicies = { policies: DEFAULT_POLICIES, files: [], defaultsDropped: false };

export function policyFromSpec(spec: PolicySpec, source: PolicySource): Policy {
  return {
    name: spec.name,
    action: spec.action,
    environments: spec.environments ?? [],
    expression: spec.expression,
    message: spec.message,
    source,
  };
}

/** The organisation's files combined with the defaults (pure). Fails when two files define one name. */
export function combineOrganisationPolicies(files: readonly { file: string; policyFile: PolicyFile }[]): OrganisationPolicies {
  const definedIn = new Map<string, string>();
  const clashes: string[] = [];
  const own: Policy[] = [];
  for (const { file, policyFile } of files) {
    for (const spec of policyFile.policies) {
      const earlier = definedIn.get(spec.name);
      if (earlier !== undefined) clashes.push(`policy "${spec.name}" is defined in ${earlier} and in ${file}; keep one`);
      else definedIn.set(spec.name, file);
      own.push(policyFromSpec(spec, 'organisation'));
    }
  }
  if (clashes.length > 0) throw new MaestroError('validation_error', `organisation policies: ${clashes.join('; ')}`, { clashes });
  const defaultsDropped = files.some(({ policyFile }) => policyFile.defaults === false);
  const defaults = defaultsDropped ? [] : DEFAULT_POLICIES.filter((policy) => !definedIn.has(policy.name));
  return { policies: [...defaults, ...own], files: files.map(({ file }) => file), defaultsDropped };
}

/** Every policy a release of the project must pass: the organisation's set, then the project's own. */
export function effectivePolicies(organisation: OrganisationPolicies, project: readonly PolicySpec[] = []): Policy[] {
  return [...organisation.policies, ...project.map((spec) => policyFromSpec(spec, 'project'))];
}

const POLICY_FILE = /\.ya?ml$/i;

/**
 * Reads the organisation's policy folder (`maestro up --policies DIR`): every .yml and .yaml file in it,
 * in name order. Any problem in any file fails with all of them, each as file:line:col.
 */
export async function loadOrganisationPolicies(dir: string | undefined): Promise<OrganisationPolicies> {
  if (dir === undefined || dir === '') return DEFAULT_ORGANISATION_POLICIES;
  const folder = resolve(dir);
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new MaestroError('not_found', `the policy folder ${folder} does not exist or is not a folder: give --policies (or MAESTRO_POLICIES) a folder of .yml files`, {
      path: folder,
    });
  }
  const names = (await readdir(folder)).filter((name) => POLICY_FILE.test(name)).sort();
  const parsed: { file: string; policyFile: PolicyFile }[] = [];
  const problems: Problem[] = [];
  for (const name of names) {
    const file = join(folder, name);
    const fileInfo = await stat(file);
    if (!fileInfo.isFile()) continue;
    if (fileInfo.size > MAX_MANIFEST_BYTES) {
      problems.push({ file, line: 1, column: 1, path: '', message: `the file is ${fileInfo.size} bytes; a policy file may be at most ${MAX_MANIFEST_BYTES}` });
      continue;
    }
    const result = parsePolicyFile(await readFile(file, 'utf8'), file);
    if (result.ok) parsed.push({ file, policyFile: result.policyFile });
    else problems.push(...result.problems);
  }
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new MaestroError('validation_error', `the organisation policies in ${folder} have ${count}:\n${problems.map(formatProblem).join('\n')}`, { problems });
  }
  return combineOrganisationPolicies(parsed);
}
