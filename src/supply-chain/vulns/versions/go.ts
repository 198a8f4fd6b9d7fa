import semver from 'semver';

/**
 * Go module versions: semantic versions with a `v` (OSV's Go advisories leave it out). Pseudo-versions
 * (v0.0.0-20220906165146-f3363e06e74c, v1.2.4-0.2022...) are pre-releases of the version after their
 * base, so semver's pre-release order sorts them by base, then by time; `+incompatible` is build
 * metadata, which does not count. Go also accepts the shorthands v1 and v1.2 (v1.0.0, v1.2.0).
 */
export function parseGoVersion(text: string): semver.SemVer | undefined {
  const bare = text.trim().replace(/^v/, '');
  const shorthand = /^(\d+)(?:\.(\d+))?$/.exec(bare);
  const full = shorthand ? `${shorthand[1]}.${shorthand[2] ?? '0'}.0` : bare;
  return semver.parse(full) ?? undefined;
}
