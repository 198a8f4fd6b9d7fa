import { createHash } from 'node:crypto';
import { MaestroError, errorMessage } from '../../common/index.js';
import { locateAdvisories, locationStamp, readAdvisoryFiles, type AdvisoryLocation } from './advisory-files.js';
import { AdvisoryIndex, matchComponents } from './advisory-index.js';
import { readOsvAdvisory, type Advisory } from './osv-advisory.js';
import { cacheKey, cachedAnswer, type AdvisorySource, type SourceAnswer, type SourceQuery } from './source.js';
import type { Ecosystem } from './types.js';

/** Problems kept word for word; past this only their number is. */
const MAX_PROBLEMS = 50;

export interface LoadedAdvisories {
  path: string;
  location: AdvisoryLocation;
  index: AdvisoryIndex;
  /** sha256 over every JSON file's path and content digest, sorted: the same files give the same digest, in a folder or an archive. */
  digest: string;
  files: number;
  skipped: { withdrawn: number; otherEcosystems: number };
  problems: string[];
  problemCount: number;
  /** See locationStamp. */
  stamp: string;
  directories: string[];
  loadedAt: Date;
}

/** Reads every advisory at `path`. Broken files are problems, not failures; a location without one usable advisory fails. */
export async function loadOsvAdvisories(path: string, now: () => Date = () => new Date()): Promise<LoadedAdvisories> {
  const location = await locateAdvisories(path);
  // An archive is stamped before it is read, so one replaced while being read is read again next time.
  const archiveStamp = location.kind === 'directory' ? undefined : await locationStamp(location, []);
  const read: Array<{ path: string; hash: string; advisory?: Advisory }> = [];
  const problems: Array<{ path: string; message: string }> = [];
  const skipped = { withdrawn: 0, otherEcosystems: 0 };
  const { directories } = await readAdvisoryFiles(location, {
    file(name, bytes) {
      const hash = createHash('sha256').update(bytes).digest('hex');
      let document: unknown;
      try {
        document = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        read.push({ path: name, hash });
        problems.push({ path: name, message: `not valid JSON (${errorMessage(error)}); skipped` });
        return;
      }
      const result = readOsvAdvisory(document);
      read.push({ path: name, hash, ...(result.kind === 'advisory' ? { advisory: result.advisory } : {}) });
      if (result.kind === 'problem') problems.push({ path: name, message: `${result.message}; skipped` });
      else if (result.kind === 'skipped' && result.why === 'withdrawn') skipped.withdrawn++;
      else if (result.kind === 'skipped') skipped.otherEcosystems++;
    },
    problem(name, message) {
      problems.push({ path: name, message });
    },
  });
  // A folder's list of subfolders is only known once read: a file added while it was being read may need a reload.
  const stamp = archiveStamp ?? (await locationStamp(location, directories));

  read.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const digest = createHash('sha256');
  const byId = new Map<string, { advisory: Advisory; path: string }>();
  for (const file of read) {
    digest.update(`${file.path}\0${file.hash}\n`);
    if (!file.advisory) continue;
    const earlier = byId.get(file.advisory.id);
    if (earlier) problems.push({ path: file.path, message: `${file.advisory.id} is also in ${earlier.path}; this copy was skipped` });
    else byId.set(file.advisory.id, { advisory: file.advisory, path: file.path });
  }
  if (byId.size === 0) {
    throw new MaestroError(
      'unavailable',
      `${path} holds no OSV advisories for npm, PyPI or Go (${read.length} JSON files read${problems.length ? `, ${problems.length} unreadable` : ''})`,
    );
  }
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    path,
    location,
    index: new AdvisoryIndex([...byId.values()].map((entry) => entry.advisory)),
    digest: digest.digest('hex'),
    files: read.length,
    skipped,
    problems: problems.slice(0, MAX_PROBLEMS).map((problem) => `${problem.path}: ${problem.message}`),
    problemCount: problems.length,
    stamp,
    directories,
    loadedAt: now(),
  };
}

/** What the OSV advisories loaded look like, for `POST /v1/advisories/reload` and status views. */
export interface AdvisoriesStatus {
  path: string;
  status: 'ok' | 'unavailable';
  reason?: string;
  digest?: string;
  advisories?: number;
  perEcosystem?: Record<Ecosystem, number>;
  files?: number;
  skipped?: { withdrawn: number; otherEcosystems: number };
  /** Unreadable files and the like (at most 50, see problemCount). */
  problems: string[];
  problemCount: number;
  loadedAt?: string;
}

export interface OsvSourceOptions {
  /** A folder of OSV *.json files (recursively), or a .zip or .tar.gz of them. */
  path: string;
  /** Whether the scan is unavailable without it (default true: it is the source of record). */
  required?: boolean;
  now?: () => Date;
}

/**
 * OSV advisories from files, read on first use, again when the location changes (a folder's mtime, an
 * archive's size or mtime) and on demand. Scans use whole advisory sets: a scan running during a reload
 * finishes with the set it started with. A location that cannot be read makes the source unavailable
 * rather than keep serving advisories that are no longer there.
 */
export class OsvAdvisorySource implements AdvisorySource {
  readonly name = 'osv';
  readonly required: boolean;
  private loaded: LoadedAdvisories | undefined;
  private failure: string | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly options: OsvSourceOptions) {
    this.required = options.required ?? true;
  }

  get path(): string {
    return this.options.path;
  }

  /** Reads the advisories again now (after any read already under way). */
  async reload(): Promise<AdvisoriesStatus> {
    while (this.loading) await this.loading;
    await this.load();
    return this.status();
  }

  /** The advisories as they are now: loaded on first use, reloaded when the location changed. */
  async current(): Promise<LoadedAdvisories | undefined> {
    while (this.loading) await this.loading;
    if (!this.loaded && !this.failure) await this.load();
    else if (await this.changed()) await this.load();
    return this.loaded;
  }

  status(): AdvisoriesStatus {
    const loaded = this.loaded;
    if (!loaded) {
      return { path: this.options.path, status: 'unavailable', reason: this.failure ?? 'the advisories have not been read yet', problems: [], problemCount: 0 };
    }
    return {
      path: loaded.path,
      status: 'ok',
      digest: loaded.digest,
      advisories: loaded.index.size,
      perEcosystem: { ...loaded.index.perEcosystem },
      files: loaded.files,
      skipped: { ...loaded.skipped },
      problems: [...loaded.problems],
      problemCount: loaded.problemCount,
      loadedAt: loaded.loadedAt.toISOString(),
    };
  }

  async query(query: SourceQuery): Promise<SourceAnswer & { cached: boolean }> {
    const loaded = await this.current();
    if (!loaded) return { status: 'unavailable', reason: this.failure ?? 'no advisories loaded', cached: false };
    const key = cacheKey({ source: 'osv', components: query.componentsDigest, advisories: loaded.digest });
    const hit = cachedAnswer(await query.cache.get(key).catch(() => undefined));
    if (hit) return { ...hit, cached: true };
    const match = matchComponents(loaded.index, query.components, this.name);
    const answer: SourceAnswer & { status: 'ok' } = {
      status: 'ok',
      findings: match.findings,
      unscanned: match.unscanned,
      problems: match.problems,
      advisoriesDigest: loaded.digest,
      advisories: loaded.index.size,
    };
    // A cache that cannot be written only costs the next scan some time.
    await query.cache.put(key, answer).catch(() => undefined);
    return { ...answer, cached: false };
  }

  private async changed(): Promise<boolean> {
    if (!this.loaded) return true;
    try {
      return (await locationStamp(this.loaded.location, this.loaded.directories)) !== this.loaded.stamp;
    } catch {
      return true;
    }
  }

  private load(): Promise<void> {
    this.loading = loadOsvAdvisories(this.options.path, this.options.now)
      .then(
        (loaded) => {
          this.loaded = loaded;
          this.failure = undefined;
        },
        (error: unknown) => {
          this.loaded = undefined;
          this.failure = errorMessage(error);
        },
      )
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
