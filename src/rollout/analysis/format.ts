/** How figures read in verdict reasons: short, and never more precise than the data. */

export function formatRate(rate: number): string {
  const percent = rate * 100;
  if (percent === 0 || percent === 100) return `${percent}%`;
  const digits = percent >= 10 ? 1 : percent >= 1 ? 2 : 3;
  return `${Number(percent.toPrecision(digits))}%`;
}

export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p = ${Number(p.toPrecision(2))}`;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))}s`;
  return `${Number(ms.toPrecision(3))}ms`;
}

export function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}
