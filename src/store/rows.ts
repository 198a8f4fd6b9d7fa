/** Small conversions from what the drivers return to the records' types. */

/** SQL NULL becomes an absent property. */
export function opt<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

/** pg returns bigint columns as strings, PGlite as numbers. */
export function num(value: string | number | bigint): number {
  return Number(value);
}

/** Copies `source` without its undefined properties, so records compare and print cleanly. */
export function compact<T extends object>(source: T): T {
  const out = {} as T;
  for (const key of Object.keys(source) as (keyof T)[]) {
    if (source[key] !== undefined) out[key] = source[key];
  }
  return out;
}
