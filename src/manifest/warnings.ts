/**
 * Things in a valid manifest that are probably not what the author meant. They never stop a deploy.
 */
import { parseDuration } from '../common/units.js';
import type { RawProblem } from './issues.js';
import { pathToString, type PathSegment } from './problems.js';
import type { Manifest } from './schema.js';

function warning(path: PathSegment[], message: string): RawProblem {
  return { path, message: `${pathToString(path)}: ${message}` };
}

export function manifestWarnings(manifest: Manifest): RawProblem[] {
  const warnings: RawProblem[] = [];
  for (const [name, service] of Object.entries(manifest.services)) {
    const at = (...rest: PathSegment[]) => ['services', name, ...rest];
    if (service.runtime === 'static' && service.start !== undefined)
      warnings.push(warning(at('start'), 'is ignored because runtime is static; Maestro serves the static folder itself'));
    if (service.runtime !== 'static' && service.static !== undefined)
      warnings.push(warning(at('static'), 'is ignored unless runtime is static'));
    if (typeof service.port === 'number' && service.replicas > 1)
      warnings.push(warning(at('replicas'), `${service.replicas} replicas cannot all listen on fixed port ${service.port} on one machine; use port: $PORT`));
    if (Object.hasOwn(service.env, 'PORT'))
      warnings.push(warning(at('env', 'PORT'), 'Maestro sets PORT for every replica itself; this value is not used'));
    const interval = parseDuration(service.health.interval) ?? 0;
    const timeout = parseDuration(service.health.timeout) ?? 0;
    if (timeout > interval)
      warnings.push(warning(at('health', 'timeout'), `${service.health.timeout} is longer than the interval ${service.health.interval}; probes would overlap`));
    const seen = new Set<string>();
    service.depends_on.forEach((dependency, index) => {
      if (seen.has(dependency)) warnings.push(warning(at('depends_on', index), `"${dependency}" is listed twice`));
      seen.add(dependency);
    });
  }

  for (const [name, environment] of Object.entries(manifest.environments)) {
    if (Object.hasOwn(environment.env, 'PORT'))
      warnings.push(warning(['environments', name, 'env', 'PORT'], 'Maestro sets PORT for every replica itself; this value is not used'));
    if (environment.strategy.type !== 'canary') continue;
    let previous = 0;
    environment.strategy.steps.forEach((step, index) => {
      if (!('weight' in step)) return;
      if (step.weight <= previous)
        warnings.push(
          warning(
            ['environments', name, 'strategy', 'steps', index, 'weight'],
            `${step.weight} is not more than the weight before it (${previous}); canary weights normally only go up`,
          ),
        );
      previous = step.weight;
    });
  }
  return warnings;
}
