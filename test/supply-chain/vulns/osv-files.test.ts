import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OsvAdvisorySource,
  VulnerabilityScanner,
  affectsVersion,
  cvss3BaseScore,
  loadOsvAdvisories,
  ratingOfScore,
  type VulnerabilityScanResult,
} from '../../../src/supply-chain/vulns/index.js';
import { memoryScanCache } from '../../../src/supply-chain/vulns/source.js';
import { readAdvisoryFiles } from '../../../src/supply-chain/vulns/advisory-files.js';
import { SHARED_OSV, component, copyOfSharedOsv, hasZip, run, tempDir } from './fixtures.js';

const scanner = new VulnerabilityScanner({ advisories: SHARED_OSV });
const findingsOf = (result: VulnerabilityScanResult, name: string, version: string) =>
  result.findings.filter((finding) => finding.package.name === name && finding.package.version === version);

describe('OSV advisories from ../shared/osv', () => {
  it('loads every advisory, by ecosystem, without problems', async () => {
    const loaded = await loadOsvAdvisories(SHARED_OSV);
    expect(loaded.files).toBe(67);
    expect(loaded.index.size).toBe(67);
    expect(loaded.index.perEcosystem).toEqual({ npm: 44, PyPI: 16, Go: 7 });
    expect(loaded.problems).toEqual([]);
    expect(loaded.digest).toMatch(/^[0-9a-f]{64}$/);
    expect((await loadOsvAdvisories(SHARED_OSV)).digest).toBe(loaded.digest);
  });

  it('lodash 4.17.20 has the two advisories fixed in 4.17.21; 4.17.21 has none', async () => {
    const result = await scanner.scan([component('npm', 'lodash', '4.17.20'), component('npm', 'lodash', '4.17.21')]);
    expect(result.status).toBe('complete');
    const old = findingsOf(result, 'lodash', '4.17.20');
    expect(old.map((f) => f.id).sort()).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
    const injection = old.find((f) => f.id === 'GHSA-35jh-r3h4-6jhm')!;
    expect(injection).toMatchObject({
      aliases: ['CVE-2021-23337'],
      summary: 'Command Injection in lodash',
      severity: 'high',
      cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2 },
      fixedVersions: ['4.17.21'],
      sources: ['osv'],
      url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      package: { ecosystem: 'npm', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' },
    });
    expect(old.find((f) => f.id === 'GHSA-29mw-wpgm-hmr9')).toMatchObject({ aliases: ['CVE-2020-28500'], severity: 'medium', fixedVersions: ['4.17.21'] });
    expect(findingsOf(result, 'lodash', '4.17.21')).toEqual([]);
    expect(result.counts).toEqual({ critical: 0, high: 1, medium: 1, low: 0, unknown: 0 });
    expect(result.ids).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
  });

  it('an older lodash has every advisory whose fix came later, each with its own fixed version', async () => {
    const result = await scanner.scan([component('npm', 'lodash', '4.17.4')]);
    const fixes = Object.fromEntries(result.findings.map((f) => [f.id, f.fixedVersions]));
    expect(fixes).toEqual({
      'GHSA-29mw-wpgm-hmr9': ['4.17.21'],
      'GHSA-35jh-r3h4-6jhm': ['4.17.21'],
      'GHSA-4xc9-xhrj-v574': ['4.17.11'],
      'GHSA-fvqr-27wr-82fm': ['4.17.5'],
      'GHSA-jf85-cpcp-j695': ['4.17.12'],
      'GHSA-p6mc-m468-83gw': ['4.17.20'],
    });
    // Most severe first: GHSA-jf85-cpcp-j695 is GitHub's CRITICAL.
    expect(result.findings[0]).toMatchObject({ id: 'GHSA-jf85-cpcp-j695', severity: 'critical', aliases: ['CVE-2019-10744'] });
    expect(result.counts).toEqual({ critical: 1, high: 3, medium: 1, low: 1, unknown: 0 });
  });

  it('names in odd case still match: the advisory for `Axios`, `Django`, `Jinja2`, `PyYAML`', async () => {
    const result = await scanner.scan([
      component('npm', 'axios', '1.7.3'),
      component('PyPI', 'django', '4.1.5'),
      component('PyPI', 'Jinja2', '2.11.2'),
      component('PyPI', 'pyyaml', '5.3'),
    ]);
    expect(findingsOf(result, 'axios', '1.7.3').map((f) => [f.id, f.aliases[0], f.fixedVersions])).toEqual([['GHSA-8hc4-vh64-cxmj', 'CVE-2024-39338', ['1.7.4']]]);
    expect(findingsOf(result, 'django', '4.1.5').map((f) => [f.id, f.fixedVersions]).sort()).toEqual([
      ['GHSA-jh3w-4vvf-mjgr', ['4.1.10']],
      ['GHSA-q2jf-h9jm-m7p4', ['4.1.6']],
    ]);
    expect(findingsOf(result, 'Jinja2', '2.11.2').map((f) => [f.id, f.aliases[0], f.fixedVersions]).sort()).toEqual([
      ['GHSA-g3rq-g295-4j3m', 'CVE-2020-28493', ['2.11.3']],
      ['GHSA-h5c8-rqwp-cp95', 'CVE-2024-22195', ['3.1.3']],
      ['GHSA-h75v-3vvj-5mfj', 'CVE-2024-34064', ['3.1.4']],
    ]);
    expect(findingsOf(result, 'pyyaml', '5.3').map((f) => [f.id, f.severity]).sort()).toEqual([
      ['GHSA-6757-jp84-gxfx', 'critical'],
      ['GHSA-8q59-q68h-6hv4', 'critical'],
    ]);
  });

  it('Django versions: each release line has its own fix, and the fixed versions are clean', async () => {
    const result = await scanner.scan([component('PyPI', 'Django', '3.2.16'), component('PyPI', 'Django', '4.2.11'), component('PyPI', 'Django', '4.2.2')]);
    expect(Object.fromEntries(findingsOf(result, 'Django', '3.2.16').map((f) => [f.id, f.fixedVersions]))).toEqual({
      'GHSA-q2jf-h9jm-m7p4': ['3.2.17'],
      'GHSA-jh3w-4vvf-mjgr': ['3.2.20'],
      'GHSA-vm8q-m57g-pff3': ['3.2.25'],
    });
    expect(Object.fromEntries(findingsOf(result, 'Django', '4.2.2').map((f) => [f.id, f.fixedVersions]))).toEqual({
      'GHSA-jh3w-4vvf-mjgr': ['4.2.3'],
      'GHSA-vm8q-m57g-pff3': ['4.2.11'],
    });
    expect(findingsOf(result, 'Django', '4.2.11')).toEqual([]);
  });

  it('golang.org/x/net: fixes spelled the Go way, pseudo-versions ordered, a package path is not the module', async () => {
    const result = await scanner.scan([
      component('Go', 'golang.org/x/net', 'v0.6.0'),
      component('Go', 'golang.org/x/net', 'v0.0.0-20220722155237-a158d28d115b'),
      component('Go', 'golang.org/x/net', 'v0.23.0'),
      component('Go', 'github.com/gin-gonic/gin', 'v1.9.0'),
    ]);
    expect(Object.fromEntries(findingsOf(result, 'golang.org/x/net', 'v0.6.0').map((f) => [f.id, f.fixedVersions]))).toEqual({
      'GHSA-vvpx-j8f3-3w6h': ['v0.7.0'],
      'GHSA-2wrh-6pvc-2jm9': ['v0.13.0'],
      'GHSA-4v7x-pqxf-cx7m': ['v0.23.0'],
    });
    const pseudo = findingsOf(result, 'golang.org/x/net', 'v0.0.0-20220722155237-a158d28d115b');
    expect(pseudo.find((f) => f.id === 'GHSA-69cg-p879-7622')).toMatchObject({ fixedVersions: ['v0.0.0-20220906165146-f3363e06e74c'], aliases: ['CVE-2022-27664'] });
    expect(findingsOf(result, 'golang.org/x/net', 'v0.23.0')).toEqual([]);
    // last_affected: affected, and no fix to name.
    expect(findingsOf(result, 'github.com/gin-gonic/gin', 'v1.9.0').map((f) => [f.id, f.fixedVersions])).toEqual([['GHSA-2c4m-59x9-fr2g', []]]);
  });

  it('every range of every file: its versions read in their ecosystem, introduced is affected, fixed is not, last_affected is', async () => {
    const loaded = await loadOsvAdvisories(SHARED_OSV);
    let checked = 0;
    for (const ecosystem of ['npm', 'PyPI', 'Go'] as const) {
      for (const name of new Set(['lodash', 'axios', 'tar', 'ws', 'qs', 'express', 'django', 'jinja2', 'urllib3', 'requests', 'flask', 'pyyaml', 'golang.org/x/net', 'github.com/gin-gonic/gin', 'golang.org/x/crypto'])) {
        for (const advisory of loaded.index.forPackage(ecosystem, name)) {
          for (const entry of advisory.affected.filter((e) => e.ecosystem === ecosystem)) {
            for (const range of entry.ranges) {
              for (const event of range.events) {
                if (event.version === '0') continue;
                const version = ecosystem === 'Go' ? `v${event.version}` : event.version;
                const verdict = affectsVersion({ ...entry, ranges: [range], versions: [] }, version);
                expect(verdict.problems, `${advisory.id} ${event.version}`).toEqual([]);
                expect(verdict.affected, `${advisory.id} ${entry.name} ${event.kind} ${event.version}`).toBe(event.kind !== 'fixed');
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("GitHub's ratings and the CVSS v3 scores computed from the files' vectors agree, every one", async () => {
    let compared = 0;
    for (const folder of ['npm', 'pypi', 'go']) {
      for (const name of await readdir(join(SHARED_OSV, folder))) {
        const document = JSON.parse(await readFile(join(SHARED_OSV, folder, name), 'utf8')) as {
          severity?: Array<{ type: string; score: string }>;
          database_specific: { severity: string };
        };
        for (const item of document.severity ?? []) {
          if (item.type !== 'CVSS_V3') continue;
          const rating = ratingOfScore(cvss3BaseScore(item.score)!);
          expect(rating === 'medium' ? 'MODERATE' : rating.toUpperCase(), `${name} ${item.score}`).toBe(document.database_specific.severity);
          compared++;
        }
      }
    }
    expect(compared).toBe(54);
  });
});

describe('advisory locations', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('maestro-osv-');
  });
  afterAll(async () => dir?.remove());

  it.skipIf(!hasZip)('a .zip (zip64 too, as osv.dev writes its large all.zip) and a .tar.gz give the same advisories and digest as the folder', async () => {
    const folder = await loadOsvAdvisories(SHARED_OSV);
    const zip = join(dir.path, 'all.zip');
    const zip64 = join(dir.path, 'all64.zip');
    const tgz = join(dir.path, 'all.tar.gz');
    run('zip', ['-qr', zip, 'npm', 'pypi', 'go', 'README.md'], SHARED_OSV);
    run('zip', ['-qr', '-fz', zip64, 'npm', 'pypi', 'go'], SHARED_OSV);
    run('tar', ['czf', tgz, '-C', SHARED_OSV, 'npm', 'pypi', 'go'], dir.path);
    for (const archive of [zip, zip64, tgz]) {
      const loaded = await loadOsvAdvisories(archive);
      expect(loaded.index.size, archive).toBe(67);
      expect(loaded.problems, archive).toEqual([]);
      expect(loaded.digest, archive).toBe(folder.digest);
    }
    const result = await new VulnerabilityScanner({ advisories: zip }).scan([component('npm', 'lodash', '4.17.20')]);
    expect(result.ids).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
  });

  it('skips a broken file (and says so), withdrawn advisories and other ecosystems, and still scans', async () => {
    const osv = await copyOfSharedOsv(join(dir.path, 'tolerant'));
    await writeFile(join(osv, 'npm', 'broken.json'), '{"id": "GHSA-brok-en00-0000", "affected": [');
    await writeFile(join(osv, 'npm', 'not-osv.json'), '[1, 2, 3]');
    await writeFile(
      join(osv, 'npm', 'withdrawn.json'),
      JSON.stringify({ id: 'GHSA-with-draw-n000', withdrawn: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] }),
    );
    await writeFile(
      join(osv, 'maven.json'),
      JSON.stringify({ id: 'GHSA-mave-n000-0000', affected: [{ package: { ecosystem: 'Maven', name: 'org.webjars:lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] }),
    );
    const loaded = await loadOsvAdvisories(osv);
    expect(loaded.index.size).toBe(67);
    expect(loaded.skipped).toEqual({ withdrawn: 1, otherEcosystems: 1 });
    expect(loaded.problems).toEqual([expect.stringMatching(/^npm\/broken\.json: not valid JSON/), 'npm/not-osv.json: not an OSV advisory (the JSON is not an object); skipped']);
    const result = await new VulnerabilityScanner({ advisories: osv }).scan([component('npm', 'lodash', '4.17.21')]);
    expect(result.status).toBe('complete');
    expect(result.ids).toEqual([]);
    expect(result.sources[0]!.problems).toEqual([]);
    expect((await new OsvAdvisorySource({ path: osv }).reload()).problems).toHaveLength(2);
  });

  it('a location that is missing, empty or not an archive makes the scan unavailable, never a pass', async () => {
    const empty = join(dir.path, 'empty');
    await copyOfSharedOsv(empty);
    await rm(join(empty, 'osv'), { recursive: true });
    const notZip = join(dir.path, 'broken.zip');
    await writeFile(notZip, 'this is not a zip archive');
    for (const [path, reason] of [
      [join(dir.path, 'nowhere'), /no such file or folder/],
      [empty, /holds no OSV advisories for npm, PyPI or Go \(0 JSON files read\)/],
      [notZip, /is not a readable zip archive/],
      [join(SHARED_OSV, 'README.md'), /neither a folder of OSV \*\.json files nor a \.zip or \.tar\.gz/],
    ] as const) {
      const result = await new VulnerabilityScanner({ advisories: path }).scan([component('npm', 'lodash', '4.17.20')]);
      expect(result.status, path).toBe('unavailable');
      expect(result.reason, path).toMatch(reason);
      expect(result.findings).toEqual([]);
      expect(result.sources).toEqual([expect.objectContaining({ name: 'osv', status: 'unavailable', required: true })]);
    }
  });

  it('a folder is read again when a file is added, and a reload sees an edit in place; the digest follows', async () => {
    const osv = await copyOfSharedOsv(join(dir.path, 'changing'));
    const source = new OsvAdvisorySource({ path: osv });
    const cache = memoryScanCache();
    const components = [component('npm', 'left-pad', '1.0.0')];
    const query = { components, componentsDigest: 'left-pad', cache };
    const before = await source.query(query);
    expect(before).toMatchObject({ status: 'ok', findings: [] });
    const advisory = (fixed: string) => ({
      id: 'GHSA-left-pad0-0000',
      aliases: ['CVE-2099-0001'],
      summary: 'left-pad pads wrong',
      affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }] }],
    });
    await writeFile(join(osv, 'npm', 'GHSA-left-pad0-0000.json'), JSON.stringify(advisory('1.1.0')));
    const after = await source.query(query);
    expect(after).toMatchObject({ status: 'ok', cached: false, findings: [{ id: 'GHSA-left-pad0-0000', severity: 'unknown', fixedVersions: ['1.1.0'] }] });
    expect(after.status === 'ok' && before.status === 'ok' && after.advisoriesDigest !== before.advisoriesDigest).toBe(true);

    // An edit in place does not touch the folder's mtime: the next query still answers from what was read...
    await writeFile(join(osv, 'npm', 'GHSA-left-pad0-0000.json'), JSON.stringify(advisory('1.0.1')));
    expect(await source.query(query)).toMatchObject({ cached: true, findings: [{ fixedVersions: ['1.1.0'] }] });
    // ...until a reload, whose new digest means the cached answer is not used.
    await source.reload();
    expect(await source.query(query)).toMatchObject({ cached: false, findings: [{ fixedVersions: ['1.0.1'] }] });
  });
});

describe('an archive replaced by a newer one', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('maestro-osv-swap-');
  });
  afterAll(async () => dir?.remove());

  it('is read again at the next scan (a new download renamed over the old one)', async () => {
    const osv = await copyOfSharedOsv(dir.path);
    const archive = join(dir.path, 'all.tar.gz');
    run('tar', ['czf', archive, '-C', osv, 'npm'], dir.path);
    const scanner = new VulnerabilityScanner({ advisories: archive });
    const components = [component('npm', 'left-pad', '1.3.0'), component('npm', 'lodash', '4.17.20')];
    const before = await scanner.scan(components);
    expect(before.ids).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
    expect(before.sources[0]!.advisories).toBe(44);

    await writeFile(
      join(osv, 'npm', 'GHSA-2222-3333-4444.json'),
      JSON.stringify({ id: 'GHSA-2222-3333-4444', affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] }),
    );
    run('tar', ['czf', `${archive}.download`, '-C', osv, 'npm'], dir.path);
    await rename(`${archive}.download`, archive);
    const after = await scanner.scan(components);
    expect(after.ids).toEqual(['GHSA-2222-3333-4444', 'GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
    expect(after.sources[0]).toMatchObject({ advisories: 45, cached: false });
    expect(after.advisoriesDigest).not.toBe(before.advisoriesDigest);
  });
});

describe('zip archives, entry by entry', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('maestro-osv-zip-');
  });
  afterAll(async () => dir?.remove());

  it.skipIf(!hasZip)('a damaged entry is skipped as a problem, read from memory or streamed from the file; the others load', async () => {
    const zip = join(dir.path, 'stored.zip');
    // Stored (not deflated), so a byte of an advisory can be changed in place and only its checksum notices.
    run('zip', ['-q0r', zip, 'npm', 'pypi', 'go'], SHARED_OSV);
    const bytes = await readFile(zip);
    const marker = Buffer.from('"summary": "Command Injection in lodash"');
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    bytes[at + 13] = 'K'.charCodeAt(0);
    await writeFile(zip, bytes);

    for (const zipInMemoryBytes of [Number.MAX_SAFE_INTEGER, 0]) {
      const files: string[] = [];
      const problems: string[] = [];
      await readAdvisoryFiles({ kind: 'zip', path: zip }, { file: (name) => files.push(name), problem: (name, message) => problems.push(`${name}: ${message}`) }, { zipInMemoryBytes });
      expect(files, `in memory up to ${zipInMemoryBytes}`).toHaveLength(66);
      expect(problems).toEqual([expect.stringMatching(/^npm\/GHSA-35jh-r3h4-6jhm\.json: cannot unpack it: /)]);
    }
  });
});

describe('advisories that cover only some ecosystems', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('maestro-osv-partial-');
  });
  afterAll(async () => dir?.remove());

  it('components of an ecosystem without advisories are unscanned; when none could be scanned the scan is unavailable', async () => {
    const osv = await copyOfSharedOsv(dir.path);
    await rm(join(osv, 'pypi'), { recursive: true });
    const scanner = new VulnerabilityScanner({ advisories: osv });
    const mixed = await scanner.scan([component('npm', 'lodash', '4.17.20'), component('PyPI', 'jinja2', '2.11.2')]);
    expect(mixed.status).toBe('complete');
    expect(mixed.ids).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
    expect(mixed.unscanned).toEqual([{ package: component('PyPI', 'jinja2', '2.11.2'), reason: 'the advisories hold none for PyPI packages' }]);

    const pythonOnly = await scanner.scan([component('PyPI', 'jinja2', '2.11.2'), component('PyPI', 'django', '4.1.5')]);
    expect(pythonOnly.status).toBe('unavailable');
    expect(pythonOnly.reason).toBe('none of the 2 components could be scanned (the advisories hold none for PyPI packages, ...)');
    expect((await scanner.scan([])).status).toBe('complete');
  });
});
