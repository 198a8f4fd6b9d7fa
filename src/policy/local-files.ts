/** The files `maestro policy test` reads: the policies (a maestro.yml or an organisation policy file) and an input document. */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { MaestroError } from '../common/index.js';
import { MAX_MANIFEST_BYTES, formatProblem, parseManifest, parsePolicyFile, type PolicySpec, type Problem } from '../manifest/index.js';
import { policyFromSpec } from './catalogue.js';
import { dryRunInputSchema, type DryRunInput } from './dry-run.js';
import type { Policy } from './types.js';

export interface PolicyTestFile {
  file: string;
  /** A maestro.yml's `policies:` are the project's; anything else is read as an organisation policy file. */
  kind: 'manifest' | 'organisation';
  specs: PolicySpec[];
  policies: Policy[];
}

async function readText(file: string, what: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new MaestroError('not_found', `${file} does not exist (the ${what})`, { path: file });
  if (info.size > MAX_MANIFEST_BYTES) throw new MaestroError('validation_error', `${file} is ${info.size} bytes; the ${what} may be at most ${MAX_MANIFEST_BYTES}`);
  return readFile(file, 'utf8');
}

function invalid(file: string, problems: Problem[]): MaestroError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new MaestroError('validation_error', `${file} has ${count}:\n${problems.map(formatProblem).join('\n')}`, { problems });
}

/** Reads a file of policies; every problem in it (CEL included) fails with its file:line:col. */
export async function readPolicyTestFile(file: string): Promise<PolicyTestFile> {
  const text = await readText(file, 'policy file');
  if (looksLikeManifest(text)) {
    const result = parseManifest(text, file);
    if (!result.ok) throw invalid(file, result.problems);
    const specs = result.manifest.policies ?? [];
    return { file, kind: 'manifest', specs, policies: specs.map((spec) => policyFromSpec(spec, 'project')) };
  }
  const result = parsePolicyFile(text, file);
  if (!result.ok) throw invalid(file, result.problems);
  const specs = result.policyFile.policies;
  return { file, kind: 'organisation', specs, policies: specs.map((spec) => policyFromSpec(spec, 'organisation')) };
}

/** A manifest names its project or services; a policy file has neither. */
function looksLikeManifest(text: string): boolean {
  try {
    const data = parseYaml(text) as unknown;
    return data !== null && typeof data === 'object' && ('services' in data || 'project' in data);
  } catch {
    return false;
  }
}

/** Reads an input document (JSON) for a dry run; what is wrong in it is said field by field. */
export async function readDryRunInput(file: string): Promise<DryRunInput> {
  const text = await readText(file, 'input document');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new MaestroError('validation_error', `${file} is not JSON: ${(error as Error).message}`);
  }
  const result = dryRunInputSchema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${file}: input${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`);
  throw new MaestroError('validation_error', `${file} is not a policy input document:\n${lines.join('\n')}`, { issues: result.error.issues });
}
