import { distance } from 'fastest-levenshtein';

/** The candidate a typo most likely meant, or undefined when nothing is close enough to be a good guess. */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Short words tolerate one edit, longer ones about a third of their length.
  const tolerance = word.length <= 2 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** `; did you mean \`health\`?` or '' — ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const guess = closestName(word, candidates);
  return guess === undefined ? '' : `; did you mean \`${guess}\`?`;
}

/** How a value a user wrote reads back in a message: strings quoted, structures named. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
