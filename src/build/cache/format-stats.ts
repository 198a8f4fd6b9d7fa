/** `maestro cache stats` as a person reads it: one line per kind, then size, evictions and damage. */
import { formatBytes } from '../../common/index.js';
import type { CacheStats, KindStats } from './build-cache.js';

const KIND_LABELS = { dependencies: 'dependencies', output: 'build output' } as const;

export function formatCacheStats(stats: CacheStats): string[] {
  const lines = [
    `${'kind'.padEnd(14)}${'entries'.padStart(8)}${'size'.padStart(12)}${'hits'.padStart(8)}${'misses'.padStart(8)}${'hit rate'.padStart(10)}`,
  ];
  for (const [kind, label] of Object.entries(KIND_LABELS) as Array<[keyof typeof KIND_LABELS, string]>) lines.push(row(label, stats.byKind[kind]));
  lines.push(row('total', stats));
  lines.push(`size ${formatBytes(stats.bytes)} of ${formatBytes(stats.maxBytes)} (${percent(stats.bytes / stats.maxBytes)})`);
  lines.push(`evictions ${stats.evictions} (${formatBytes(stats.evictedBytes)} freed)`);
  if (stats.corrupted > 0) lines.push(`damaged entries removed ${stats.corrupted}`);
  return lines;
}

function row(label: string, stats: KindStats): string {
  const rate = stats.hitRate === null ? '-' : percent(stats.hitRate);
  return `${label.padEnd(14)}${String(stats.entries).padStart(8)}${formatBytes(stats.bytes).padStart(12)}${String(stats.hits).padStart(8)}${String(stats.misses).padStart(8)}${rate.padStart(10)}`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}
