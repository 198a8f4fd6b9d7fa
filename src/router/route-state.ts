import { MaestroError } from '../common/index.js';
import { indexRoutes, revisionsOf, type Route, type RouteTable } from './route-table.js';

/** How a pushed table relates to the one being served. */
export type TableComparison = 'newer' | 'same' | 'conflict';

/**
 * A newer version replaces the table; the same version with the same content is a harmless repeat (the
 * control plane retrying); anything else is a conflict, since versions only grow.
 */
export function compareTables(current: RouteTable, next: RouteTable): TableComparison {
  if (next.version > current.version) return 'newer';
  if (next.version === current.version && JSON.stringify(next) === JSON.stringify(current)) return 'same';
  return 'conflict';
}

export const EMPTY_TABLE: RouteTable = { version: 0, routes: [] };

/**
 * The table being served, indexed by host. Tables are applied one at a time (validate, persist, swap) so
 * two concurrent pushes can't interleave; requests in flight keep the route objects they already hold,
 * which is what lets a removed revision drain.
 */
export class RouteState {
  private current: RouteTable;
  private byHost: Map<string, Route>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    initial: RouteTable,
    private readonly persist: (table: RouteTable) => Promise<void>,
    private readonly onApplied: (table: RouteTable, previous: RouteTable) => void = () => {},
  ) {
    this.current = initial;
    this.byHost = indexRoutes(initial);
  }

  get table(): RouteTable {
    return this.current;
  }

  lookup(host: string): Route | undefined {
    return this.byHost.get(host);
  }

  revisions(): Set<string> {
    return revisionsOf(this.current);
  }

  /** Persist then serve `next`; throws `conflict` when it is older than (or differs at the same version from) the current one. */
  apply(next: RouteTable): Promise<{ changed: boolean }> {
    const run = async (): Promise<{ changed: boolean }> => {
      const comparison = compareTables(this.current, next);
      if (comparison === 'same') return { changed: false };
      if (comparison === 'conflict') {
        throw new MaestroError(
          'conflict',
          next.version === this.current.version
            ? `Route table version ${next.version} is already being served with different content; push it with a higher version.`
            : `Route table version ${next.version} is older than the version being served (${this.current.version}); push a newer one.`,
          { currentVersion: this.current.version, pushedVersion: next.version },
        );
      }
      await this.persist(next);
      const previous = this.current;
      this.current = next;
      this.byHost = indexRoutes(next);
      this.onApplied(next, previous);
      return { changed: true };
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
