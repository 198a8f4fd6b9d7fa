import type { Ecosystem } from './types.js';

/**
 * The key a package is looked up by, so an advisory naming `Axios`, `Jinja2` or `PyYAML` finds the package
 * as installed: npm lowercases (the registry refuses new names that differ only by case), PyPI follows
 * PEP 503 (case, and runs of `-`, `_`, `.` are one `-`), Go module paths are exact.
 */
export function packageKey(ecosystem: Ecosystem, name: string): string {
  const trimmed = name.trim();
  switch (ecosystem) {
    case 'npm':
      return `npm:${trimmed.toLowerCase()}`;
    case 'PyPI':
      return `PyPI:${trimmed.toLowerCase().replace(/[-_.]+/g, '-')}`;
    case 'Go':
      return `Go:${trimmed}`;
  }
}
