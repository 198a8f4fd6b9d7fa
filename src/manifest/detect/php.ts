import { detectNodeToolchain, nodeCommands } from './node-toolchain.js';
import { readPackageJson } from './node.js';
import { fileExists, fileIn, readIn, readJsonObject, stringMap, type Scope } from './read.js';
import { healthRoute } from './source-scan.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

export async function detectPhp(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const composer = await readJsonObject(scope, 'composer.json');
  const hasComposerFile = await fileExists(scope, 'composer.json');
  const docroot = (await fileExists(scope, 'public/index.php')) ? 'public' : (await fileExists(scope, 'index.php')) ? '.' : undefined;
  if (!composer && !docroot) return undefined;
  if (!composer && hasComposerFile) return undefined; // unreadable composer.json is already a problem

  const requires = { ...stringMap(composer?.require), ...stringMap(composer?.['require-dev']) };
  const composerFile = fileIn(scope, 'composer.json');
  const notes: string[] = [];
  const managerEvidence: Evidence = { file: composerFile, reason: 'composer.json' };
  const base = {
    path: scope.dir,
    runtime: 'custom' as const,
    port: '$PORT' as const,
    notes,
    ...(composer
      ? {
          packageManager: 'composer' as const,
          packageManagerEvidence: managerEvidence,
          install: 'composer install --no-dev --optimize-autoloader --no-interaction',
        }
      : {}),
  };

  // Front-end assets (Vite, Mix) built by the Node toolchain when package.json has a build script.
  const pkg = await readPackageJson(scope);
  let assets: string | undefined;
  if (pkg?.scripts.build !== undefined) {
    const commands = nodeCommands(await detectNodeToolchain([scope], [pkg]));
    assets = `${commands.install} && ${commands.run('build')}`;
    notes.push('the build runs the package.json build script: the builder needs Node as well as PHP');
  }

  if ('laravel/framework' in requires) {
    const evidence: Evidence[] = [{ file: composerFile, reason: 'require "laravel/framework"' }, managerEvidence];
    const bootstrap = (await readIn(scope, 'bootstrap/app.php')) ?? '';
    const health = /health:\s*['"]([^'"]+)['"]/.exec(bootstrap)?.[1];
    notes.push('set APP_KEY as a secret of the service');
    const octane = 'laravel/octane' in requires;
    if (!octane) notes.push('php artisan serve is single-threaded; add laravel/octane for production traffic');
    return {
      service: {
        ...base,
        framework: octane ? 'Laravel (Octane)' : 'Laravel',
        ...(assets ? { build: assets } : {}),
        start: octane ? 'php artisan octane:start --host=0.0.0.0 --port=$PORT' : 'php artisan serve --host=0.0.0.0 --port=$PORT',
        ...(health ? { health } : {}),
        env: { APP_ENV: 'production', LOG_CHANNEL: 'stderr' },
        evidence,
      },
    };
  }

  const framework =
    'symfony/framework-bundle' in requires ? 'Symfony' : 'slim/slim' in requires ? 'Slim' : 'PHP';
  const root = docroot ?? ((await fileExists(scope, 'public')) ? 'public' : undefined);
  if (!root) return { hint: `${composerFile} found but no index.php (at the top or in public/) to serve` };
  const indexFile = fileIn(scope, root === '.' ? 'index.php' : `${root}/index.php`);
  const evidence: Evidence[] =
    framework === 'PHP'
      ? [{ file: indexFile, reason: 'front controller' }]
      : [{ file: composerFile, reason: `require "${framework === 'Symfony' ? 'symfony/framework-bundle' : 'slim/slim'}"` }];
  if (composer) evidence.push(managerEvidence);
  notes.push(`PHP's built-in server handles one request at a time; put PHP-FPM or FrankenPHP behind it for heavy traffic`);
  const text = (await readIn(scope, root === '.' ? 'index.php' : `${root}/index.php`, 64 * 1024)) ?? '';
  return {
    service: {
      ...base,
      framework,
      ...(assets ? { build: assets } : {}),
      start: `php -S 0.0.0.0:$PORT -t ${root}`,
      ...(healthRoute([text]) ? { health: healthRoute([text])! } : {}),
      ...(framework === 'Symfony' ? { env: { APP_ENV: 'prod' } } : {}),
      evidence,
    },
  };
}
