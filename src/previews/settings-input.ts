/**
 * A project's settings as people write them (`72h`, `30m`, a branch name) and as the API shows them.
 * Pure.
 */
import { MaestroError, parseDuration } from '../common/index.js';
import type { ProjectSettings, ProjectSettingsPatch } from '../store/index.js';

/** A preview lives at least this long, and at most this long, after its last push. */
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 365 * 86_400_000;
const MIN_IDLE_MS = 60_000;
const MAX_PREVIEWS = 1000;

export interface SettingsInput {
  productionBranch?: string;
  previewTtl?: string;
  maxPreviews?: number;
  /** `null` turns sleeping off. */
  previewIdle?: string | null;
}

export interface SettingsView {
  productionBranch: string;
  previewTtl: string;
  previewTtlMs: number;
  maxPreviews: number;
  previewIdle: string | null;
  previewIdleMs: number | null;
}

export function settingsView(settings: ProjectSettings): SettingsView {
  return {
    productionBranch: settings.productionBranch,
    previewTtl: durationText(settings.previewTtlMs),
    previewTtlMs: settings.previewTtlMs,
    maxPreviews: settings.maxPreviews,
    previewIdle: settings.previewIdleMs === undefined ? null : durationText(settings.previewIdleMs),
    previewIdleMs: settings.previewIdleMs ?? null,
  };
}

/** The store's patch for what a person asked; a validation_error naming the field and what to write. */
export function settingsPatch(input: SettingsInput): ProjectSettingsPatch {
  const patch: ProjectSettingsPatch = {};
  if (input.productionBranch !== undefined) patch.productionBranch = checkBranchName(input.productionBranch, 'productionBranch');
  if (input.previewTtl !== undefined) patch.previewTtlMs = durationWithin('previewTtl', input.previewTtl, MIN_TTL_MS, MAX_TTL_MS);
  if (input.maxPreviews !== undefined) {
    if (!Number.isInteger(input.maxPreviews) || input.maxPreviews < 0 || input.maxPreviews > MAX_PREVIEWS) {
      throw new MaestroError('validation_error', `maxPreviews must be a whole number from 0 (no previews) to ${MAX_PREVIEWS}, got ${String(input.maxPreviews)}`, { field: 'maxPreviews' });
    }
    patch.maxPreviews = input.maxPreviews;
  }
  if (input.previewIdle !== undefined) {
    patch.previewIdleMs = input.previewIdle === null ? null : durationWithin('previewIdle', input.previewIdle, MIN_IDLE_MS, MAX_TTL_MS);
  }
  return patch;
}

/** A duration people can write back: the largest unit that divides it (`72h`, `30m`, `90s`). */
export function durationText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Milliseconds of a written duration from `min` to `max`; a validation_error otherwise. */
export function durationWithin(field: string, text: string, min: number, max: number): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new MaestroError('validation_error', `${field} must be a duration like 30m, 24h or 7d, got ${JSON.stringify(text)}`, { field });
  if (ms < min || ms > max) {
    throw new MaestroError('validation_error', `${field} must be from ${durationText(min)} to ${durationText(max)}, got ${text}`, { field });
  }
  return ms;
}

/**
 * A branch name git accepts (`git check-ref-format --branch`): no spaces, control characters or
 * ~^:?*[\, no `..` or `@{`, no part starting with `.` or ending in `.lock`, not starting with `-`.
 */
export function checkBranchName(name: string, field = 'branch'): string {
  const problem = branchNameProblem(name);
  if (problem) throw new MaestroError('validation_error', `${field} ${JSON.stringify(name)} is not a branch name git accepts: ${problem}`, { field });
  return name;
}

function branchNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 255) return 'it is longer than 255 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return 'it holds a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'it holds ".."';
  if (name.includes('@{') || name === '@') return 'it holds "@{" or is "@"';
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty part between slashes';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `its part "${part}" starts with "."`;
    if (part.endsWith('.lock')) return `its part "${part}" ends with ".lock"`;
  }
  return undefined;
}
