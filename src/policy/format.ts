/** Decisions in words: one line per policy for terminals, one sentence for a failed deployment. */
import type { PolicyDecision, PolicyResult } from './types.js';

/** PASS, DENY, WARN, WAIVED: what the result did to the release. */
export function verdictOf(result: PolicyResult): 'PASS' | 'DENY' | 'WARN' | 'WAIVED' {
  if (result.passed) return 'PASS';
  if (result.waived) return 'WAIVED';
  return result.action === 'deny' ? 'DENY' : 'WARN';
}

/** The results that stop the release. */
export function denials(decision: PolicyDecision): PolicyResult[] {
  return decision.results.filter((result) => verdictOf(result) === 'DENY');
}

/** `policy no-critical-vulnerabilities (default) denies: ...; policy coverage (project) denies: ...` */
export function describeDenial(decision: PolicyDecision): string {
  return denials(decision)
    .map((result) => `policy ${result.policy} (${result.source}) denies: ${result.message}`)
    .join('; ');
}

export function formatDecision(decision: PolicyDecision): string[] {
  const rows = [
    ...decision.results.map((result) => [verdictOf(result), result.policy, result.source, detail(result)]),
    ...decision.skipped.map((skip) => ['SKIP', skip.policy, skip.source, `applies to ${skip.environments.join(', ')} only`]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(0, ...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join('  ').trimEnd());
  const denied = denials(decision);
  const warned = decision.results.filter((result) => verdictOf(result) === 'WARN').length;
  const waived = decision.results.filter((result) => result.waived).length;
  const counts = [`${decision.results.length} checked`, warned ? `${warned} warned` : '', waived ? `${waived} waived` : ''].filter(Boolean).join(', ');
  lines.push(
    decision.outcome === 'deny'
      ? `denied: ${denied.map((result) => result.policy).join(', ')} (${counts})`
      : `allowed (${counts})`,
  );
  return lines;
}

function detail(result: PolicyResult): string {
  if (result.passed) return '';
  if (result.waived) return `${result.message} - waived by ${result.waived.by} until ${result.waived.expires}: ${result.waived.reason}`;
  return result.message;
}
