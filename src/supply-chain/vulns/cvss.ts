/**
 * The CVSS v3.0/v3.1 base score from a vector (FIRST's specification, v3.1 section 7), for advisories
 * that give a vector but no rating. Temporal and environmental metrics are ignored: the base score is what
 * advisories publish.
 */

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
} as const;
// Privileges required weigh more when the scope changes.
const PRIVILEGES = { U: { N: 0.85, L: 0.62, H: 0.27 }, C: { N: 0.85, L: 0.68, H: 0.5 } } as const;
const BASE_METRICS = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;
const ALLOWED: Record<(typeof BASE_METRICS)[number], readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
};

/** CVSS v3.1's Roundup: the smallest one-decimal number at least `value`, without floating-point surprises. */
function roundUp(value: number): number {
  const scaled = Math.round(value * 100_000);
  return scaled % 10_000 === 0 ? scaled / 100_000 : (Math.floor(scaled / 10_000) + 1) / 10;
}

/** The base score (0.0-10.0), or undefined when `vector` is not a complete CVSS v3 base vector. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.trim().split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const metrics = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const [name, value, extra] = part.split(':');
    if (!name || value === undefined || extra !== undefined || metrics.has(name)) return undefined;
    metrics.set(name, value);
  }
  for (const name of BASE_METRICS) {
    if (!ALLOWED[name].includes(metrics.get(name) ?? '')) return undefined;
  }
  const m = (name: (typeof BASE_METRICS)[number]): string => metrics.get(name)!;
  const scope = m('S') as 'U' | 'C';
  const iss =
    1 -
    (1 - WEIGHTS.C[m('C') as 'H' | 'L' | 'N']) * (1 - WEIGHTS.I[m('I') as 'H' | 'L' | 'N']) * (1 - WEIGHTS.A[m('A') as 'H' | 'L' | 'N']);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability =
    8.22 *
    WEIGHTS.AV[m('AV') as 'N' | 'A' | 'L' | 'P'] *
    WEIGHTS.AC[m('AC') as 'L' | 'H'] *
    PRIVILEGES[scope][m('PR') as 'N' | 'L' | 'H'] *
    WEIGHTS.UI[m('UI') as 'N' | 'R'];
  if (impact <= 0) return 0;
  return scope === 'U' ? roundUp(Math.min(impact + exploitability, 10)) : roundUp(Math.min(1.08 * (impact + exploitability), 10));
}

/** CVSS v3's qualitative rating of a score; a 0.0 ("none") counts as low. */
export function ratingOfScore(score: number): 'critical' | 'high' | 'medium' | 'low' {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}
