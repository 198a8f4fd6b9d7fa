import type { VulnerabilityScanResult } from './types.js';

/** A scan for a terminal: status, counts, one line per finding, what was not scanned, each source. */
export function formatScan(result: VulnerabilityScanResult): string[] {
  const lines: string[] = [];
  const { counts } = result;
  lines.push(
    result.status === 'complete'
      ? `scan complete: ${result.components} components, ${result.findings.length} findings (critical ${counts.critical}, high ${counts.high}, medium ${counts.medium}, low ${counts.low}, unknown ${counts.unknown})`
      : `scan UNAVAILABLE (not a pass): ${result.reason ?? 'a required source could not answer'}`,
  );
  if (result.findings.length > 0) {
    const rows = result.findings.map((finding) => [
      finding.severity.toUpperCase(),
      finding.id,
      `${finding.package.name}@${finding.package.version}`,
      finding.fixedVersions.length ? `fixed in ${finding.fixedVersions.join(', ')}` : 'no fix listed',
      [finding.aliases.filter((alias) => alias.startsWith('CVE-')).join(' '), finding.summary].filter(Boolean).join('  '),
    ]);
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    lines.push('', ...rows.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column]!) : cell)).join('  ')));
  }
  if (result.unscanned.length > 0) {
    lines.push('', `not scanned (${result.unscanned.length}):`);
    for (const item of result.unscanned) lines.push(`  ${item.package.ecosystem} ${item.package.name}@${item.package.version}: ${item.reason}`);
  }
  lines.push('', 'sources:');
  for (const source of result.sources) {
    const state = source.status === 'ok' ? `ok${source.cached ? ' (cached)' : ''}` : `unavailable: ${source.reason ?? ''}`;
    const extra = source.advisories !== undefined ? `, ${source.advisories} advisories` : '';
    lines.push(`  ${source.name}${source.required ? '' : ' (optional)'}: ${state}${extra}`);
    for (const problem of source.problems.slice(0, 5)) lines.push(`    problem: ${problem}`);
    if (source.problems.length > 5) lines.push(`    and ${source.problems.length - 5} more problems`);
  }
  return lines;
}
