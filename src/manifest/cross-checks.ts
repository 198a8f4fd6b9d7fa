/**
 * Rules that span fields: references between services, required-unless, clashing ports. They read the
 * raw data defensively (the schema may have failed elsewhere) so every problem is reported in one go.
 */
import type { RawProblem } from './issues.js';
import type { PathSegment } from './problems.js';
import { pathToString } from './problems.js';
import { didYouMean } from './suggest.js';

type Mapping = Record<string, unknown>;

function asMapping(value: unknown): Mapping | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : undefined;
}

function problem(path: PathSegment[], message: string, target?: 'key'): RawProblem {
  return { path, message: `${pathToString(path)}: ${message}`, ...(target ? { target } : {}) };
}

export function crossCheck(data: unknown): RawProblem[] {
  const root = asMapping(data);
  const services = asMapping(root?.['services']);
  if (!services) return [];
  const names = Object.keys(services);
  return [
    ...startRequired(services),
    ...dependencies(services, names),
    ...environmentServices(asMapping(root?.['environments']), names),
    ...portClashes(services, asMapping(root?.['environments'])),
  ];
}

function startRequired(services: Mapping): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const [name, value] of Object.entries(services)) {
    const service = asMapping(value);
    if (!service || service['runtime'] === 'static' || Object.hasOwn(service, 'start')) continue;
    problems.push(
      problem(['services', name, 'start'], 'is required unless runtime is static: the command that starts the app, like node server.js'),
    );
  }
  return problems;
}

function dependencies(services: Mapping, names: string[]): RawProblem[] {
  const problems: RawProblem[] = [];
  const edges = new Map<string, { target: string; index: number }[]>();
  for (const [name, value] of Object.entries(services)) {
    const list = asMapping(value)?.['depends_on'];
    if (!Array.isArray(list)) continue;
    const valid: { target: string; index: number }[] = [];
    list.forEach((target: unknown, index) => {
      if (typeof target !== 'string') return;
      const path = ['services', name, 'depends_on', index];
      if (target === name) problems.push(problem(path, 'a service cannot depend on itself'));
      else if (!Object.hasOwn(services, target))
        problems.push(problem(path, `no service named "${target}"${didYouMean(target, names) || `; services are ${names.join(', ')}`}`));
      else valid.push({ target, index });
    });
    edges.set(name, valid);
  }
  return [...problems, ...cycles(edges)];
}

/** Every dependency cycle once, reported at the first edge of the cycle as found from its smallest name. */
function cycles(edges: Map<string, { target: string; index: number }[]>): RawProblem[] {
  const problems: RawProblem[] = [];
  const reported = new Set<string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const { target } of edges.get(name) ?? []) {
      if (state.get(target) === 'visiting') {
        const loop = stack.slice(stack.indexOf(target));
        const start = loop.indexOf([...loop].sort()[0]!);
        const ordered = [...loop.slice(start), ...loop.slice(0, start)];
        const key = ordered.join(' -> ');
        if (reported.has(key)) continue;
        reported.add(key);
        const first = ordered[0]!;
        const next = ordered[1] ?? first;
        const index = edges.get(first)?.find((edge) => edge.target === next)?.index ?? 0;
        problems.push(
          problem(
            ['services', first, 'depends_on', index],
            `depends_on goes round in a circle: ${[...ordered, first].join(' -> ')}; remove one of these dependencies`,
          ),
        );
      } else if (state.get(target) === undefined) visit(target);
    }
    stack.pop();
    state.set(name, 'done');
  };

  for (const name of [...edges.keys()].sort()) if (state.get(name) === undefined) visit(name);
  return problems;
}

function environmentServices(environments: Mapping | undefined, names: string[]): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const [environment, value] of Object.entries(environments ?? {})) {
    const overrides = asMapping(asMapping(value)?.['services']);
    for (const name of Object.keys(overrides ?? {})) {
      if (names.includes(name)) continue;
      problems.push(
        problem(
          ['environments', environment, 'services', name],
          `no service named "${name}"${didYouMean(name, names) || `; services are ${names.join(', ')}`}`,
          'key',
        ),
      );
    }
  }
  return problems;
}

/** Two services on one fixed port cannot both run, in the base definition or in any environment. */
function portClashes(services: Mapping, environments: Mapping | undefined): RawProblem[] {
  const problems: RawProblem[] = [];
  const layers: [string | undefined, Mapping | undefined][] = [
    [undefined, undefined],
    ...Object.entries(environments ?? {}).map(([name, value]): [string, Mapping | undefined] => [
      name,
      asMapping(asMapping(value)?.['services']),
    ]),
  ];
  for (const [environment, overrides] of layers) {
    const owners = new Map<number, { name: string; overridden: boolean }>();
    for (const [name, value] of Object.entries(services)) {
      const override = asMapping(overrides?.[name]);
      const overridden = override !== undefined && Object.hasOwn(override, 'port');
      const port = overridden ? override['port'] : asMapping(value)?.['port'];
      if (typeof port !== 'number' || !Number.isInteger(port)) continue;
      const owner = owners.get(port);
      if (owner === undefined) {
        owners.set(port, { name, overridden });
        continue;
      }
      // A clash between two base ports is reported once, by the base layer, not again per environment.
      if (environment !== undefined && !overridden && !owner.overridden) continue;
      const [at, other] = overridden || !owner.overridden ? [name, owner.name] : [owner.name, name];
      const path =
        environment !== undefined && (at === name ? overridden : owner.overridden)
          ? ['environments', environment, 'services', at, 'port']
          : ['services', at, 'port'];
      const where = environment === undefined ? '' : ` in environment ${environment}`;
      problems.push(
        problem(
          path,
          `${port} is also the port of service ${other}${where}; two services cannot listen on one fixed port (use $PORT and Maestro picks a free one)`,
        ),
      );
    }
  }
  return problems;
}
