import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem, parseManifest, type Manifest } from '../../src/manifest/index.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function parsed(text: string): Manifest {
  const result = parseManifest(text, 'maestro.yml');
  if (!result.ok) throw new Error(`expected a valid manifest, got:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.manifest;
}

function problems(text: string): string[] {
  const result = parseManifest(text, 'maestro.yml');
  if (result.ok) throw new Error('expected problems, the manifest parsed');
  return result.problems.map(formatProblem);
}

const service = (extra: string) => `project: shop\nservices:\n  web:\n    start: node server.js\n${extra}`;
const environment = (strategy: string) => `project: shop\nservices:\n  web: { start: x }\nenvironments:\n  production:\n    strategy: ${strategy}\n`;

describe('good manifests', () => {
  it('fills in every default for a minimal manifest', () => {
    expect(parsed(fixture('minimal.yml'))).toEqual({
      version: 1,
      project: 'hello',
      services: {
        web: {
          path: '.',
          build: {},
          start: 'node server.js',
          port: '$PORT',
          replicas: 1,
          health: { interval: '2s', timeout: '1s', healthy_threshold: 1, unhealthy_threshold: 3 },
          env: {},
          depends_on: [],
        },
      },
      environments: {
        production: { strategy: { type: 'immediate' }, warm_for: '10m', drain: '5s', env: {}, services: {} },
      },
    });
  });

  it('reads a full monorepo manifest with every field', () => {
    const manifest = parsed(fixture('shop.yml'));
    expect(Object.keys(manifest.services)).toEqual(['web', 'api', 'docs']);
    expect(manifest.services.web!.path).toBe('apps/web');
    expect(manifest.services.api!.path).toBe('services/api');
    expect(manifest.services.web!.resources).toEqual({ cpu: 0.5, memory: '256Mi' });
    expect(manifest.services.docs!.static).toEqual({ dir: 'dist' });
    expect(manifest.environments.staging!.strategy).toEqual({ type: 'rolling', max_surge: '25%', max_unavailable: 0 });
    expect(manifest.environments.qa!.strategy).toEqual({
      type: 'blue_green',
      auto_promote_after: '30s',
      scale_down_delay: '10m',
      preview: true,
    });
    expect(manifest.environments.production!.services.web).toEqual({
      replicas: 3,
      env: { NODE_ENV: 'production', FEATURE_X: 'on' },
    });
  });

  it('keeps env values as the text written, even where YAML sees a number', () => {
    const manifest = parsed(fixture('shop.yml'));
    expect(manifest.services.api!.env).toEqual({ WORKERS: '4', PYTHON_VERSION: '3.10' });
    expect(parsed(service('    env: { ON: true, HEX: 0x1F, BIG: 1e3 }\n')).services.web!.env).toEqual({
      ON: 'true',
      HEX: '0x1F',
      BIG: '1e3',
    });
  });

  it('normalises canary steps: a timed pause, a manual pause and an inline analysis', () => {
    const strategy = parsed(fixture('shop.yml')).environments.production!.strategy;
    expect(strategy).toEqual({
      type: 'canary',
      steps: [
        { weight: 10 },
        { pause: { duration: '30s' } },
        { analysis: { duration: '1m', checks: [{ metric: 'latency_p99', max: '1s' }] } },
        { weight: 50 },
        { pause: {} },
      ],
      analysis: {
        interval: '1s',
        min_requests: 50,
        checks: [
          { metric: 'error_rate', max: '1%' },
          { metric: 'latency_p95', max: '500ms' },
          { prometheus: 'sum(rate(http_requests_total{code=~"5.."}[30s]))', max: 0.5 },
        ],
      },
      watch: '60s',
      sticky: false,
    });
  });

  it('reads webhook gates with a 10s default timeout, and the provider-error budget', () => {
    const strategy = parsed(
      environment(
        '{ type: canary, analysis: { provider_error_budget: 3m }, gates: [{ webhook: "https://ci.example.com/maestro-gate", on: [before_rollout, before_weight_increase, before_promotion], secret_env: GATE_SECRET }, { webhook: "http://127.0.0.1:9000/approve", on: [before_promotion], timeout: 2m }] }',
      ),
    ).environments.production!.strategy;
    expect(strategy).toMatchObject({
      analysis: { provider_error_budget: '3m' },
      gates: [
        { webhook: 'https://ci.example.com/maestro-gate', on: ['before_rollout', 'before_weight_increase', 'before_promotion'], timeout: '10s', secret_env: 'GATE_SECRET' },
        { webhook: 'http://127.0.0.1:9000/approve', on: ['before_promotion'], timeout: '2m' },
      ],
    });
    expect(parsed(environment('{ type: immediate, gates: [{ webhook: "https://x.example/g", on: [before_rollout] }] }')).environments.production!.strategy).toEqual({
      type: 'immediate',
      gates: [{ webhook: 'https://x.example/g', on: ['before_rollout'], timeout: '10s' }],
    });
  });

  it('gives each bare strategy name its defaults', () => {
    const strategyOf = (name: string) => parsed(environment(name)).environments.production!.strategy;
    expect(strategyOf('immediate')).toEqual({ type: 'immediate' });
    expect(strategyOf('rolling')).toEqual({ type: 'rolling', max_surge: 1, max_unavailable: 0 });
    expect(strategyOf('blue_green')).toEqual({ type: 'blue_green', scale_down_delay: '30s', preview: false });
    expect(strategyOf('canary')).toMatchObject({
      type: 'canary',
      steps: [{ weight: 10 }, { pause: { duration: '30s' } }, { weight: 50 }, { pause: { duration: '30s' } }],
      analysis: { interval: '1s', min_requests: 50, checks: [{ metric: 'error_rate', max: '1%' }] },
      watch: '1m',
      sticky: false,
    });
    expect(strategyOf('{ type: immediate }')).toEqual({ type: 'immediate' });
  });

  it('accepts a static site without a start command', () => {
    const manifest = parsed(fixture('static-site.yml'));
    expect(manifest.services.site!.runtime).toBe('static');
    expect(manifest.services.site!.start).toBeUndefined();
  });

  it('follows anchors and merge keys', () => {
    const manifest = parsed(
      'project: shop\nservices:\n  web: &base\n    start: node a.js\n    env: { A: "1" }\n  worker:\n    <<: *base\n    start: node b.js\n',
    );
    expect(manifest.services.worker).toMatchObject({ start: 'node b.js', env: { A: '1' } });
  });
});

describe('bad manifests', () => {
  it('reports every problem in the file at once, in file order, each at its line and column', () => {
    expect(problems(fixture('many-problems.yml'))).toEqual([
      'maestro.yml:1:10: version: must be 1, the manifest version this Maestro understands, got 2',
      "maestro.yml:2:10: project: \"My Shop\" is not a valid project name; use 1 to 40 lowercase letters, digits and '-', starting and ending with a letter or digit",
      'maestro.yml:5:5: services.web.start: is required unless runtime is static: the command that starts the app, like node server.js',
      'maestro.yml:5:15: services.web.replicas: must be a whole number from 0 to 100, got "three"',
      'maestro.yml:6:5: services.web.helth: unknown field; did you mean `health`?',
      'maestro.yml:8:17: services.web.health.interval: "2 seconds" is not a duration; write it like 500ms, 2s, 5m',
      'maestro.yml:9:7: services.web.health.helthy_threshold: unknown field; did you mean `healthy_threshold`?',
      'maestro.yml:10:18: services.web.depends_on[0]: no service named "apii"; did you mean `api`?',
      'maestro.yml:13:14: services.api.runtime: must be one of node, python, go, ruby, static, custom, got "pyhton"; did you mean `python`?',
      'maestro.yml:16:15: environments.production.strategy: must be one of immediate, rolling, blue_green, canary, got "rollin"; did you mean `rolling`?',
      'maestro.yml:18:7: environments.production.services.wbe: no service named "wbe"; did you mean `web`?',
    ]);
  });

  it('gives each problem its path and file', () => {
    const result = parseManifest(service('    replicas: -1\n'), 'apps/maestro.yml');
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          file: 'apps/maestro.yml',
          line: 5,
          column: 15,
          path: 'services.web.replicas',
          message: 'services.web.replicas: must be a whole number from 0 to 100, got -1',
        },
      ],
    });
  });

  it('points a missing required key at the mapping that lacks it', () => {
    expect(problems('project: shop\n')).toEqual(['maestro.yml:1:1: services: is required: a mapping of service names to services']);
    expect(problems('project: shop\nservices:\n  web:\n    replicas: 1\n')).toEqual([
      'maestro.yml:4:5: services.web.start: is required unless runtime is static: the command that starts the app, like node server.js',
    ]);
    expect(problems('services:\n  web: { start: x }\n')).toEqual([
      "maestro.yml:1:1: project: is required: a project name (use 1 to 40 lowercase letters, digits and '-', starting and ending with a letter or digit)",
    ]);
  });

  it('lists the allowed keys when an unknown key is not close to any', () => {
    expect(problems(service('    colour: blue\n'))).toEqual([
      'maestro.yml:5:5: services.web.colour: unknown field; allowed here: path, runtime, build, start, static, port, replicas, health, env, resources, release, depends_on, watch',
    ]);
  });

  it('suggests the nearest key at every level, top to strategy', () => {
    expect(problems('projet: shop\nservice:\n  web: { start: x }\n')).toEqual([
      'maestro.yml:1:1: project: is required: a project name (use 1 to 40 lowercase letters, digits and \'-\', starting and ending with a letter or digit)',
      'maestro.yml:1:1: services: is required: a mapping of service names to services',
      'maestro.yml:1:1: projet: unknown field; did you mean `project`?',
      'maestro.yml:2:1: service: unknown field; did you mean `services`?',
    ]);
    expect(problems(environment('{ type: rolling, max_surge: 1, max_unavailible: 0 }'))).toEqual([
      'maestro.yml:6:46: environments.production.strategy.max_unavailible: unknown field; did you mean `max_unavailable`?',
    ]);
    expect(problems(environment('{ type: canary, analysis: { min_request: 5 } }'))).toEqual([
      'maestro.yml:6:43: environments.production.strategy.analysis.min_request: unknown field; did you mean `min_requests`?',
    ]);
  });

  it('explains bad values of each kind', () => {
    const cases: [string, string][] = [
      ['    port: 70000\n', 'maestro.yml:5:11: services.web.port: must be $PORT or a port number from 1 to 65535, got 70000'],
      ['    port: "8080"\n', 'maestro.yml:5:11: services.web.port: must be $PORT or a port number from 1 to 65535, got "8080"'],
      ['    path: ../elsewhere\n', 'maestro.yml:5:11: services.web.path: "../elsewhere" leaves the repository; write a folder inside the repository, relative to maestro.yml, like . or apps/web'],
      ['    path: /srv/app\n', 'maestro.yml:5:11: services.web.path: "/srv/app" is an absolute path; write a folder inside the repository, relative to maestro.yml, like . or apps/web'],
      ['    resources: { memory: 256MB }\n', 'maestro.yml:5:26: services.web.resources.memory: "256MB" is not a size; write it like 256Mi, 1Gi, 512M'],
      ['    resources: { cpu: 0 }\n', 'maestro.yml:5:23: services.web.resources.cpu: must be a number of CPU cores greater than 0, like 0.5, got 0'],
      ['    env: { 1X: a }\n', 'maestro.yml:5:12: services.web.env["1X"]: "1X" is not a valid variable name; use letters, digits and _, not starting with a digit'],
      ['    env: { EMPTY: }\n', 'maestro.yml:5:12: services.web.env.EMPTY: is empty; write "" for an empty value'],
      ['    health: { interval: 0s }\n', 'maestro.yml:5:25: services.web.health.interval: must be longer than 0, got "0s"'],
      ['    health: { path: healthz }\n', 'maestro.yml:5:21: services.web.health.path: must be an HTTP path starting with /, like /healthz, got "healthz"'],
      ['    build: npm run build\n', 'maestro.yml:5:12: services.web.build: must be a mapping, got "npm run build"'],
      ['    depends_on: api\n', 'maestro.yml:5:17: services.web.depends_on: must be a list of service names, got "api"'],
      ['    replicas: 1.5\n', 'maestro.yml:5:15: services.web.replicas: must be a whole number from 0 to 100, got 1.5'],
    ];
    for (const [extra, expected] of cases) expect(problems(service(extra)), extra).toEqual([expected]);
  });

  it('validates every strategy shape', () => {
    const cases: [string, string][] = [
      ['5', '6:15: environments.production.strategy: must be a strategy name (immediate, rolling, blue_green, canary) or a mapping with type and its settings, got 5'],
      ['{ max_surge: 1 }', '6:15: environments.production.strategy.type: is required: one of immediate, rolling, blue_green, canary'],
      ['{ type: canery }', '6:23: environments.production.strategy.type: must be one of immediate, rolling, blue_green, canary, got "canery"; did you mean `canary`?'],
      ['{ type: rolling, max_surge: 0, max_unavailable: 0% }', '6:43: environments.production.strategy.max_surge: max_surge and max_unavailable cannot both be 0, or the update could never make progress'],
      ['{ type: rolling, max_surge: 150% }', '6:43: environments.production.strategy.max_surge: must be a percentage from 0% to 100%, like 25%, got "150%"'],
      ['{ type: rolling, max_surge: -1 }', '6:43: environments.production.strategy.max_surge: must be a whole number from 0 to 1000 or a percentage like 25%, got -1'],
      ['{ type: blue_green, preview: yes }', '6:44: environments.production.strategy.preview: must be true or false, got "yes"'],
      ['{ type: blue_green, auto_promote_after: soon }', '6:55: environments.production.strategy.auto_promote_after: "soon" is not a duration; write it like 500ms, 2s, 5m'],
      ['{ type: canary, steps: [] }', '6:38: environments.production.strategy.steps: needs at least one step'],
      ['{ type: canary, steps: [{ weight: 100 }] }', '6:49: environments.production.strategy.steps[0].weight: must be a whole number from 1 to 99, got 100'],
      ['{ type: canary, steps: [{ pause: 2 seconds }] }', '6:48: environments.production.strategy.steps[0].pause: "2 seconds" is not a duration; write it like 500ms, 2s, 5m'],
      ['{ type: canary, steps: [{ pause: 5 }] }', '6:48: environments.production.strategy.steps[0].pause: must be a duration like 30s, or {} to wait for a manual promote, got 5'],
      ['{ type: canary, steps: [{ wieght: 5 }] }', '6:39: environments.production.strategy.steps[0]: must be one of {weight: 10}, {pause: 30s}, {pause: {}} or {analysis: {...}}; did you mean `weight`?'],
      ['{ type: canary, steps: [{ weight: 5, pause: 1s }] }', '6:39: environments.production.strategy.steps[0]: has weight and pause; a step does one thing: {weight: 10}, {pause: 30s}, {pause: {}} or {analysis: {...}}'],
      ['{ type: canary, steps: [{ weight: 5, extra: 1 }] }', '6:52: environments.production.strategy.steps[0].extra: unknown field; allowed here: weight'],
      ['{ type: canary, steps: [{ analysis: { checks: [{ metric: latency_p50, max: 1 }] } }] }', '6:90: environments.production.strategy.steps[0].analysis.checks[0].max: must be a duration like 500ms for latency_p50, got 1'],
      ['{ type: canary, analysis: { checks: [] } }', '6:51: environments.production.strategy.analysis.checks: needs at least one check'],
      ['{ type: canary, analysis: { checks: [{ metric: error_rates, max: 1% }] } }', '6:62: environments.production.strategy.analysis.checks[0].metric: must be one of error_rate, latency_p50, latency_p95, latency_p99, request_rate, got "error_rates"; did you mean `error_rate`?'],
      ['{ type: canary, analysis: { checks: [{ metric: latency_p95, max: 1% }] } }', '6:80: environments.production.strategy.analysis.checks[0].max: must be a duration like 500ms for latency_p95, got "1%"'],
      ['{ type: canary, analysis: { checks: [{ metric: error_rate, max: 0.01 }] } }', '6:79: environments.production.strategy.analysis.checks[0].max: must be a percentage like 1% for error_rate, got 0.01'],
      ['{ type: canary, analysis: { checks: [{ prometheus: up, max: high }] } }', '6:75: environments.production.strategy.analysis.checks[0].max: must be a number, got "high"'],
      ['{ type: canary, analysis: { checks: [{ max: 1 }] } }', '6:52: environments.production.strategy.analysis.checks[0]: needs either metric (one of error_rate, latency_p50, latency_p95, latency_p99, request_rate) or prometheus (a query), and max'],
      ['{ type: canary, watch: forever }', '6:38: environments.production.strategy.watch: "forever" is not a duration; write it like 500ms, 2s, 5m'],
      ['{ type: canary, analysis: { provider_error_budget: soon } }', '6:66: environments.production.strategy.analysis.provider_error_budget: "soon" is not a duration; write it like 500ms, 2s, 5m'],
      ['{ type: canary, gates: { webhook: "https://x/y" } }', '6:38: environments.production.strategy.gates: must be a list of gates like [{webhook: https://ci.example.com/maestro-gate, on: [before_rollout]}], got a mapping'],
      ['{ type: canary, gates: [{ webhook: "https://x/y" }] }', '6:39: environments.production.strategy.gates[0].on: is required: a list of moments: before_rollout, before_weight_increase, before_promotion'],
      ['{ type: canary, gates: [{ webhook: "ftp://x/y", on: [before_rollout] }] }', '6:50: environments.production.strategy.gates[0].webhook: must use http or https, not ftp: write an http:// or https:// URL like https://ci.example.com/maestro-gate'],
      ['{ type: canary, gates: [{ webhook: "ci.example.com/gate", on: [before_rollout] }] }', '6:50: environments.production.strategy.gates[0].webhook: must be an http:// or https:// URL like https://ci.example.com/maestro-gate, got "ci.example.com/gate"'],
      ['{ type: canary, gates: [{ webhook: "https://u:p@x/y", on: [before_rollout] }] }', '6:50: environments.production.strategy.gates[0].webhook: must not carry a user name or password; set secret_env and check the X-Maestro-Signature header instead'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [before_rolout] }] }', '6:70: environments.production.strategy.gates[0].on[0]: must be one of before_rollout, before_weight_increase, before_promotion, got "before_rolout"; did you mean `before_rollout`?'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [] }] }', '6:69: environments.production.strategy.gates[0].on: needs at least one moment: before_rollout, before_weight_increase, before_promotion'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [before_rollout, before_rollout] }] }', '6:86: environments.production.strategy.gates[0].on[1]: before_rollout is listed twice'],
      ['{ type: rolling, gates: [{ webhook: "https://x/y", on: [before_promotion] }] }', '6:71: environments.production.strategy.gates[0].on[0]: before_promotion never happens in a rolling rollout; its gates run before_rollout'],
      ['{ type: blue_green, gates: [{ webhook: "https://x/y", on: [before_weight_increase] }] }', '6:74: environments.production.strategy.gates[0].on[0]: before_weight_increase never happens in a blue_green rollout; its gates run before_rollout, before_promotion'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [before_rollout], timeout: 10m }] }', '6:96: environments.production.strategy.gates[0].timeout: must be at most 5m (a gate holds the rollout while it waits), got "10m"'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [before_rollout], timeout: 0s }] }', '6:96: environments.production.strategy.gates[0].timeout: must be longer than 0, got "0s"'],
      ['{ type: canary, gates: [{ webhook: "https://x/y", on: [before_rollout], secret_env: "1abc" }] }', '6:99: environments.production.strategy.gates[0].secret_env: "1abc" is not a valid variable name; use letters, digits and _, not starting with a digit'],
    ];
    for (const [strategy, expected] of cases) expect(problems(environment(strategy)), strategy).toEqual([`maestro.yml:${expected}`]);
  });

  it('checks references between services', () => {
    const text = [
      'project: shop',
      'services:',
      '  web: { start: x, depends_on: [web, api, API] }',
      '  api: { start: x, depends_on: [worker] }',
      '  worker: { start: x, depends_on: [web] }',
      'environments:',
      '  staging:',
      '    services:',
      '      wrker: { replicas: 2 }',
    ].join('\n');
    expect(problems(text)).toEqual([
      'maestro.yml:3:33: services.web.depends_on[0]: a service cannot depend on itself',
      'maestro.yml:3:43: services.web.depends_on[2]: no service named "API"; did you mean `api`?',
      'maestro.yml:4:33: services.api.depends_on[0]: depends_on goes round in a circle: api -> worker -> web -> api; remove one of these dependencies',
      'maestro.yml:9:7: environments.staging.services.wrker: no service named "wrker"; did you mean `worker`?',
    ]);
  });

  it('refuses two services on one fixed port, also when an environment sets it', () => {
    const text = [
      'project: shop',
      'services:',
      '  web: { start: x, port: 8080 }',
      '  api: { start: x, port: 8080 }',
      '  admin: { start: x, port: 9090 }',
      'environments:',
      '  production:',
      '    services:',
      '      admin: { port: 8080 }',
    ].join('\n');
    expect(problems(text)).toEqual([
      'maestro.yml:4:26: services.api.port: 8080 is also the port of service web; two services cannot listen on one fixed port (use $PORT and Maestro picks a free one)',
      'maestro.yml:9:22: environments.production.services.admin.port: 8080 is also the port of service web in environment production; two services cannot listen on one fixed port (use $PORT and Maestro picks a free one)',
    ]);
  });

  it('reports every YAML syntax error with its position, and nothing guessed from the broken structure', () => {
    expect(problems('project: shop\nservices:\n  web: { start: x\n  api: [1, 2\n')).toEqual([
      'maestro.yml:4:3: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }',
      'maestro.yml:5:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(problems('project: shop\nproject: other\nservices:\n  web: { start: x }\n')).toEqual([
      'maestro.yml:2:1: YAML syntax: Map keys must be unique',
    ]);
    expect(problems('project: shop\nservices:\n\tweb: { start: x }\n')).toEqual([
      'maestro.yml:3:1: YAML syntax: Tabs are not allowed as indentation',
    ]);
    expect(problems('project: shop\n---\nproject: other\n')[0]).toMatch(/^maestro\.yml:2:1: YAML syntax: Source contains multiple documents/);
  });

  it('sums up the cascade one stray character sets off instead of flooding the terminal', () => {
    const original = fixture('shop.yml');
    const broken = `${original.slice(0, 200)}]${original.slice(200)}`;
    const found = problems(broken);
    expect(found[0]).toBe('maestro.yml:10:1: YAML syntax: Unexpected flow-seq-end token in YAML stream: "]"');
    expect(found).toHaveLength(11);
    expect(found[10]).toMatch(/^maestro\.yml:20:7: YAML syntax: \d+ more errors from here on, most likely set off by the ones above$/);
  });

  it('says what is wrong with an empty file or a file that is not a mapping', () => {
    expect(problems('')).toEqual(['maestro.yml:1:1: the file is empty; a manifest needs at least project and services']);
    expect(problems('# nothing yet\n')).toEqual(['maestro.yml:1:1: the file is empty; a manifest needs at least project and services']);
    expect(problems('- web\n- api\n')).toEqual(['maestro.yml:1:1: must be a mapping with project and services, got a list']);
    expect(problems('project: shop\nservices: {}\n')).toEqual(['maestro.yml:2:11: services: needs at least one service']);
  });

  it('refuses anchors that blow up into huge documents', () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 8; i += 1) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const result = parseManifest(lines.join('\n'), 'maestro.yml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]!.message).toMatch(/alias/i);
  });
});

describe('warnings', () => {
  it('flags settings that are valid but probably not meant, and still parses', () => {
    const result = parseManifest(
      [
        'project: shop',
        'services:',
        '  web: { start: x, port: 8080, replicas: 2, env: { PORT: "1" }, health: { interval: 1s, timeout: 5s } }',
        '  site: { runtime: static, start: x }',
        'environments:',
        '  production:',
        '    strategy: { type: canary, steps: [{ weight: 50 }, { weight: 20 }] }',
      ].join('\n'),
      'maestro.yml',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map(formatProblem)).toEqual([
      'maestro.yml:3:42: services.web.replicas: 2 replicas cannot all listen on fixed port 8080 on one machine; use port: $PORT',
      'maestro.yml:3:58: services.web.env.PORT: Maestro sets PORT for every replica itself; this value is not used',
      'maestro.yml:3:98: services.web.health.timeout: 5s is longer than the interval 1s; probes would overlap',
      'maestro.yml:4:35: services.site.start: is ignored because runtime is static; Maestro serves the static folder itself',
      'maestro.yml:7:65: environments.production.strategy.steps[1].weight: 20 is not more than the weight before it (50); canary weights normally only go up',
    ]);
  });
});
