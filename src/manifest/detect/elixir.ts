import { fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, portUse } from './source-scan.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

/** Dependency atoms of a mix.exs: `{:phoenix, "~> 1.7"}` gives `phoenix`. */
export function mixDependencies(text: string): Set<string> {
  return new Set([...text.matchAll(/\{\s*:(\w+)\s*,/g)].map((match) => match[1]!));
}

export async function detectElixir(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const mix = await readIn(scope, 'mix.exs');
  if (mix === undefined) return undefined;
  const mixFile = fileIn(scope, 'mix.exs');
  const deps = mixDependencies(mix);
  const managerEvidence: Evidence = { file: mixFile, reason: 'Mix project' };
  const notes: string[] = [];
  const runtimeConfig = (await readIn(scope, 'config/runtime.exs')) ?? '';
  const prodConfig = (await readIn(scope, 'config/prod.exs')) ?? '';
  let port: number | '$PORT' = '$PORT';
  const use = portUse([runtimeConfig, prodConfig]);
  if (use.kind === 'fixed') {
    port = use.port;
    notes.push(fixedPortNote(fileIn(scope, 'config/runtime.exs'), use.port));
  }
  const base = {
    path: scope.dir,
    runtime: 'custom' as const,
    packageManager: 'mix' as const,
    packageManagerEvidence: managerEvidence,
    install: 'MIX_ENV=prod mix deps.get --only prod',
    port,
    notes,
  };
  if (deps.has('phoenix')) {
    const assets = /["']assets\.deploy["']/.test(mix);
    notes.push('set SECRET_KEY_BASE and PHX_HOST for the service');
    if (deps.has('ecto_sql')) notes.push('the app uses Ecto: set DATABASE_URL and run migrations before the first start');
    if (use.kind === 'unknown') notes.push('config/runtime.exs does not read PORT; have the endpoint use System.get_env("PORT")');
    return {
      service: {
        ...base,
        framework: 'Phoenix',
        build: `MIX_ENV=prod mix compile${assets ? ' && MIX_ENV=prod mix assets.deploy' : ''}`,
        start: 'mix phx.server',
        env: { MIX_ENV: 'prod', PHX_SERVER: 'true' },
        evidence: [{ file: mixFile, reason: 'dependency :phoenix' }, managerEvidence],
      },
    };
  }
  const server = ['bandit', 'plug_cowboy'].find((dep) => deps.has(dep));
  if (server) {
    if (use.kind === 'unknown') notes.push('could not see where the app picks its port; read System.get_env("PORT")');
    return {
      service: {
        ...base,
        framework: 'Elixir (Plug)',
        build: 'MIX_ENV=prod mix compile',
        start: 'mix run --no-halt',
        env: { MIX_ENV: 'prod' },
        evidence: [{ file: mixFile, reason: `dependency :${server}` }, managerEvidence],
      },
    };
  }
  return { hint: `${mixFile} has no Phoenix, Bandit or Plug.Cowboy dependency; Maestro could not tell what serves HTTP` };
}
