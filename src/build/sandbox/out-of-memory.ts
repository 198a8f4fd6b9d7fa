/** How a step that went over its memory limit is described to the person who set the limit. */
import { formatBytes } from '../../common/index.js';

export function outOfMemoryReason(memoryBytes: number, setting?: string): string {
  return `it used more than ${formatMemory(memoryBytes)}${setting ? ` (${setting})` : ''}`;
}

/** "512 MiB", "1 GiB", as people write limits; formatBytes for anything less round. */
export function formatMemory(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return formatBytes(bytes);
}
