import picomatch from 'picomatch';

const matchers = new Map<string, (name: string) => boolean>();

/** Whether a policy's environment patterns (`production`, `pr-*`) take in `environment`; none means all. */
export function appliesTo(patterns: readonly string[], environment: string): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => {
    let matcher = matchers.get(pattern);
    if (!matcher) {
      matcher = picomatch(pattern, { dot: true });
      matchers.set(pattern, matcher);
    }
    return matcher(environment);
  });
}
