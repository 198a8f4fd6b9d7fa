import { affectsVersion } from './match.js';
import type { Advisory } from './osv-advisory.js';
import { packageKey } from './package-names.js';
import { ECOSYSTEMS, type Ecosystem, type ScannedComponent, type UnscannedComponent, type VulnerabilityFinding } from './types.js';
import { versionOrder } from './versions/index.js';

/** Advisories by the packages they name (keys from packageKey), and how many there are per ecosystem. */
export class AdvisoryIndex {
  private readonly byPackage = new Map<string, Advisory[]>();
  readonly perEcosystem: Record<Ecosystem, number> = { npm: 0, PyPI: 0, Go: 0 };
  readonly size: number;

  constructor(advisories: Iterable<Advisory>) {
    let size = 0;
    for (const advisory of advisories) {
      size++;
      const keys = new Set(advisory.affected.map((entry) => entry.key));
      for (const ecosystem of new Set(advisory.affected.map((entry) => entry.ecosystem))) this.perEcosystem[ecosystem]++;
      for (const key of keys) {
        const list = this.byPackage.get(key);
        if (list) list.push(advisory);
        else this.byPackage.set(key, [advisory]);
      }
    }
    this.size = size;
  }

  /** Advisories that name this package, however the advisory spelled the name. */
  forPackage(ecosystem: Ecosystem, name: string): readonly Advisory[] {
    return this.byPackage.get(packageKey(ecosystem, name)) ?? [];
  }
}

export interface IndexMatch {
  findings: VulnerabilityFinding[];
  unscanned: UnscannedComponent[];
  problems: string[];
}

/** Every advisory of the index that affects each component; `source` names the index in the findings. */
export function matchComponents(index: AdvisoryIndex, components: readonly ScannedComponent[], source: string): IndexMatch {
  const findings: VulnerabilityFinding[] = [];
  const unscanned: UnscannedComponent[] = [];
  const problems = new Set<string>();
  for (const component of components) {
    if (!(ECOSYSTEMS as readonly string[]).includes(component.ecosystem)) {
      unscanned.push({ package: component, reason: `the ${component.ecosystem} ecosystem is not scanned (only ${ECOSYSTEMS.join(', ')})` });
      continue;
    }
    if (index.perEcosystem[component.ecosystem] === 0) {
      unscanned.push({ package: component, reason: `the advisories hold none for ${component.ecosystem} packages` });
      continue;
    }
    const order = versionOrder(component.ecosystem);
    if (order.parse(component.version) === undefined) {
      // Listed versions can still match exactly; ranges cannot be judged, so the component counts as unscanned.
      unscanned.push({ package: component, reason: `version ${JSON.stringify(component.version)} is not a valid ${order.label} version, so advisory ranges cannot be judged` });
    }
    const key = packageKey(component.ecosystem, component.name);
    for (const advisory of index.forPackage(component.ecosystem, component.name)) {
      let affected = false;
      const fixed = new Set<string>();
      for (const entry of advisory.affected) {
        if (entry.key !== key) continue;
        const verdict = affectsVersion(entry, component.version);
        for (const problem of verdict.problems) problems.add(`${advisory.id} (${entry.name}): ${problem}`);
        if (!verdict.affected) continue;
        affected = true;
        for (const version of verdict.fixedVersions) fixed.add(version);
      }
      if (affected) findings.push(findingOf(advisory, component, [...fixed], source));
    }
  }
  return { findings, unscanned, problems: [...problems] };
}

function findingOf(advisory: Advisory, component: ScannedComponent, fixedVersions: string[], source: string): VulnerabilityFinding {
  const order = versionOrder(component.ecosystem);
  const sorted = [...fixedVersions].sort((a, b) => {
    const x = order.parse(a);
    const y = order.parse(b);
    return x !== undefined && y !== undefined ? order.compare(x, y) : a.localeCompare(b);
  });
  return {
    id: advisory.id,
    aliases: [...advisory.aliases],
    summary: advisory.summary,
    severity: advisory.severity,
    ...(advisory.cvss ? { cvss: { ...advisory.cvss } } : {}),
    package: { ecosystem: component.ecosystem, name: component.name, version: component.version, purl: component.purl },
    fixedVersions: sorted.map((version) => spelled(component.ecosystem, version)),
    sources: [source],
    url: advisory.url,
  };
}

/** Versions as the ecosystem's tools spell them: Go's with a `v` (OSV's Go advisories leave it out). */
function spelled(ecosystem: Ecosystem, version: string): string {
  return ecosystem === 'Go' && /^\d/.test(version) ? `v${version}` : version;
}
