/**
 * fast-check generators of valid maestro.yml documents (as the plain data a user writes), valid by
 * construction: unique fixed ports, start unless static, depends_on only on earlier services.
 */
import fc from 'fast-check';

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/).filter((name) => name !== 'PORT');
const envValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constantFrom('1.10', 'true', '0x1F', ''));
const env = fc.dictionary(envName, envValue, { maxKeys: 3 });
const unit = fc.constantFrom('ms', 's', 'm', 'h');
const duration = fc.tuple(fc.integer({ min: 0, max: 500 }), unit).map(([n, u]) => `${n}${u}`);
const positiveDuration = fc.tuple(fc.integer({ min: 1, max: 500 }), unit).map(([n, u]) => `${n}${u}`);
const percent = fc.integer({ min: 0, max: 100 }).map((n) => `${n}%`);
const command = fc.constantFrom('node server.js', 'npm ci', 'npm run build', 'python -m app', 'bundle exec puma', './run.sh --port $PORT');
const size = fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('Mi', 'Gi', 'M', 'Ki')).map(([n, u]) => `${n}${u}`);

const health = fc.record(
  {
    path: fc.constantFrom('/healthz', '/', '/ready?full=1'),
    interval: positiveDuration,
    timeout: positiveDuration,
    healthy_threshold: fc.integer({ min: 1, max: 100 }),
    unhealthy_threshold: fc.integer({ min: 1, max: 100 }),
  },
  { requiredKeys: [] },
);

const resources = fc.record(
  { cpu: fc.double({ min: 0.01, max: 64, noNaN: true }), memory: size },
  { requiredKeys: [] },
);

const check = fc.oneof(
  fc.record({ metric: fc.constant('error_rate'), max: percent }),
  fc.record({ metric: fc.constantFrom('latency_p50', 'latency_p95', 'latency_p99'), max: duration }),
  fc.record({ metric: fc.constant('request_rate'), max: fc.integer({ min: 0, max: 10_000 }) }),
  fc.record({ prometheus: fc.constant('sum(rate(errors[1m]))'), max: fc.double({ min: 0, max: 100, noNaN: true }) }),
);

const canaryStep = fc.oneof(
  fc.record({ weight: fc.integer({ min: 1, max: 99 }) }),
  fc.record({ pause: fc.oneof(duration, fc.constant({}), duration.map((d) => ({ duration: d }))) }),
  fc.record({
    analysis: fc.record(
      { duration, interval: positiveDuration, min_requests: fc.nat(1000), checks: fc.array(check, { minLength: 1, maxLength: 2 }) },
      { requiredKeys: [] },
    ),
  }),
);

type Stage = 'before_rollout' | 'before_weight_increase' | 'before_promotion';

/** Webhook gates asked at some of `stages` (the moments the strategy has). */
const gates = (stages: Stage[]) =>
  fc.array(
    fc.record(
      {
        webhook: fc.constantFrom('https://ci.example.com/maestro-gate', 'http://127.0.0.1:9000/approve?team=web'),
        on: fc.subarray(stages, { minLength: 1 }),
        timeout: fc.tuple(fc.integer({ min: 1, max: 300 }), fc.constant('s')).map(([n, u]) => `${n}${u}`),
        secret_env: envName,
      },
      { requiredKeys: ['webhook', 'on'] },
    ),
    { maxLength: 2 },
  );

const countOrPercent = fc.oneof(fc.integer({ min: 1, max: 1000 }), percent.filter((p) => p !== '0%'));

export const strategy = fc.oneof(
  fc.constantFrom('immediate', 'rolling', 'blue_green', 'canary'),
  fc.record({ type: fc.constant('immediate'), gates: gates(['before_rollout']) }, { requiredKeys: ['type'] }),
  fc.record(
    { type: fc.constant('rolling'), max_surge: countOrPercent, max_unavailable: countOrPercent, gates: gates(['before_rollout']) },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('blue_green'),
      auto_promote_after: duration,
      scale_down_delay: duration,
      preview: fc.boolean(),
      gates: gates(['before_rollout', 'before_promotion']),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('canary'),
      steps: fc.array(canaryStep, { minLength: 1, maxLength: 5 }),
      analysis: fc.record(
        { interval: positiveDuration, min_requests: fc.nat(1000), checks: fc.array(check, { minLength: 1, maxLength: 3 }), provider_error_budget: duration },
        { requiredKeys: [] },
      ),
      watch: duration,
      sticky: fc.boolean(),
      gates: gates(['before_rollout', 'before_weight_increase', 'before_promotion']),
    },
    { requiredKeys: ['type'] },
  ),
);

interface ServiceDraft {
  name: string;
  spec: Record<string, unknown>;
}

function serviceSpec(earlier: string[], port: number | '$PORT' | undefined) {
  return fc
    .record(
      {
        path: fc.constantFrom('.', 'apps/web', './api/', 'services/a/b'),
        runtime: fc.constantFrom('node', 'python', 'go', 'ruby', 'static', 'custom'),
        build: fc.record({ install: command, command, test: command }, { requiredKeys: [] }),
        start: command,
        replicas: fc.integer({ min: 0, max: 100 }),
        health,
        env,
        resources,
        release: command,
        depends_on: earlier.length === 0 ? fc.constant([]) : fc.subarray(earlier),
        static: fc.record({ dir: fc.constantFrom('.', 'public', 'dist/') }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    )
    .map((spec) => {
      const service: Record<string, unknown> = { ...spec };
      if (port !== undefined) service['port'] = port;
      if (service['runtime'] !== 'static' && service['start'] === undefined) service['start'] = 'node server.js';
      return service;
    });
}

/** 1 to 4 services with distinct names, fixed ports distinct, dependencies only on earlier services. */
const services = fc
  .uniqueArray(label, { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc
      .tuple(...names.map((_, index) => fc.option(fc.oneof(fc.constant('$PORT' as const), fc.constant(3000 + index)), { nil: undefined })))
      .chain((ports) =>
        fc.tuple(...names.map((name, index) => serviceSpec(names.slice(0, index), ports[index]).map((spec): ServiceDraft => ({ name, spec })))),
      ),
  );

function override(port: number | undefined) {
  return fc
    .record(
      { replicas: fc.integer({ min: 0, max: 100 }), env, resources, health, start: command, release: command },
      { requiredKeys: [] },
    )
    .map((spec) => (port === undefined ? spec : { ...spec, port }));
}

export const manifestInput = services.chain((drafts) => {
  const names = drafts.map((draft) => draft.name);
  const environment = fc.record(
    {
      strategy,
      warm_for: duration,
      drain: duration,
      env,
      // Overridden fixed ports stay distinct from every base port (4000+ vs 3000+).
      services: fc
        .subarray(names)
        .chain((chosen) =>
          fc.tuple(...chosen.map((name) => override(names.indexOf(name) % 2 === 0 ? undefined : 4000 + names.indexOf(name)).map((spec) => [name, spec] as const))),
        )
        .map((pairs) => Object.fromEntries(pairs)),
    },
    { requiredKeys: [] },
  );
  return fc.record(
    {
      version: fc.constant(1),
      project: label,
      services: fc.constant(Object.fromEntries(drafts.map((draft) => [draft.name, draft.spec]))),
      environments: fc.dictionary(label, environment, { minKeys: 0, maxKeys: 3 }),
    },
    { requiredKeys: ['project', 'services'] },
  );
});
