import { fileExists, fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

/** Gem names a Gemfile asks for. */
export function parseGemfile(text: string): Set<string> {
  const gems = new Set<string>();
  for (const match of text.matchAll(/^\s*gem\s*\(?\s*["']([^"']+)["']/gm)) gems.add(match[1]!);
  return gems;
}

const BUNDLER_EVIDENCE = (scope: Scope): Evidence => ({ file: fileIn(scope, 'Gemfile'), reason: 'Gemfile' });

export async function detectRuby(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const gemfile = await readIn(scope, 'Gemfile');
  if (gemfile === undefined) return undefined;
  const gems = parseGemfile(gemfile);
  const gemfileFile = fileIn(scope, 'Gemfile');
  const notes: string[] = [];
  const lock = await fileExists(scope, 'Gemfile.lock');
  if (!lock) notes.push('no Gemfile.lock found; commit one so every build installs the same gems');
  const base = {
    path: scope.dir,
    runtime: 'ruby' as const,
    packageManager: 'bundler' as const,
    packageManagerEvidence: BUNDLER_EVIDENCE(scope),
    install: 'bundle install',
    port: '$PORT' as const,
    notes,
  };

  const railsApp = gems.has('rails') || gems.has('railties') || (await fileExists(scope, 'config/application.rb'));
  if (railsApp) {
    const evidence: Evidence[] = [
      gems.has('rails') ? { file: gemfileFile, reason: 'gem "rails"' } : { file: fileIn(scope, 'config/application.rb'), reason: 'Rails application' },
    ];
    const hasAssets = ['sprockets-rails', 'propshaft', 'jsbundling-rails', 'cssbundling-rails', 'tailwindcss-rails', 'importmap-rails'].some((gem) =>
      gems.has(gem),
    );
    const routes = (await readIn(scope, 'config/routes.rb')) ?? '';
    const health = /rails\/health#show/.test(routes) ? '/up' : healthRoute([routes]);
    notes.push('set SECRET_KEY_BASE (or RAILS_MASTER_KEY) as a secret of the service');
    if (await fileExists(scope, 'package.json')) notes.push('the asset build runs the package.json build script: the builder needs Node as well as Ruby');
    return {
      service: {
        ...base,
        framework: 'Rails',
        // The dummy key lets assets precompile without the real secret (Rails 7.1+).
        ...(hasAssets ? { build: 'SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile' } : {}),
        start: 'bundle exec rails server -b 0.0.0.0 -p $PORT',
        ...(health ? { health } : {}),
        env: { RAILS_ENV: 'production', RAILS_LOG_TO_STDOUT: '1', RAILS_SERVE_STATIC_FILES: '1' },
        evidence: [...evidence, base.packageManagerEvidence],
      },
    };
  }

  const rackup = await readIn(scope, 'config.ru');
  const sinatra = gems.has('sinatra');
  if (rackup !== undefined) {
    const framework = sinatra ? 'Sinatra' : gems.has('roda') ? 'Roda' : gems.has('hanami') ? 'Hanami' : 'Rack';
    const evidence: Evidence[] = [
      sinatra ? { file: gemfileFile, reason: 'gem "sinatra"' } : { file: fileIn(scope, 'config.ru'), reason: 'rackup file' },
    ];
    if (!gems.has('puma') && !gems.has('rackup') && !gems.has('thin') && !gems.has('webrick')) {
      notes.push('add a server gem (puma) to the Gemfile: the start command needs one');
    }
    const start = gems.has('puma') ? 'bundle exec puma -b tcp://0.0.0.0:$PORT config.ru' : 'bundle exec rackup -o 0.0.0.0 -p $PORT config.ru';
    return {
      service: {
        ...base,
        framework,
        start,
        ...(healthRoute([rackup]) ? { health: healthRoute([rackup])! } : {}),
        env: { RACK_ENV: 'production' },
        evidence: [...evidence, base.packageManagerEvidence],
      },
    };
  }

  if (sinatra) {
    for (const entry of ['app.rb', 'main.rb', 'server.rb', 'web.rb']) {
      const text = await readIn(scope, entry);
      if (text === undefined || !/require\s+["']sinatra/.test(text)) continue;
      const use = portUse([text]);
      if (use.kind === 'fixed') notes.push(fixedPortNote(fileIn(scope, entry), use.port));
      return {
        service: {
          ...base,
          framework: 'Sinatra',
          // Classic Sinatra apps take -o (bind) and -p (port) on the command line.
          start: `bundle exec ruby ${entry} -o 0.0.0.0 -p $PORT`,
          ...(healthRoute([text]) ? { health: healthRoute([text])! } : {}),
          env: { APP_ENV: 'production' },
          evidence: [{ file: gemfileFile, reason: 'gem "sinatra"' }, { file: fileIn(scope, entry), reason: 'requires sinatra' }, base.packageManagerEvidence],
        },
      };
    }
  }
  return { hint: `${gemfileFile} has no Rails, Sinatra or config.ru app; Maestro could not tell what to run` };
}
