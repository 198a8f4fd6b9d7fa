import { parseGemfile } from './ruby.js';
import { dirExists, fileExists, fileIn, firstFile, isInsideFolder, readIn, type Scope } from './read.js';
import { pythonCommands, readPythonProject } from './python-deps.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

const HUGO_CONFIGS = ['hugo.toml', 'hugo.yaml', 'hugo.yml', 'hugo.json', 'config.toml', 'config.yaml', 'config.yml'];

function staticService(scope: Scope, framework: string, fields: Partial<ServiceDraft> & { staticDir: string; evidence: Evidence[] }): ServiceDraft {
  return { path: scope.dir, runtime: 'static', framework, port: '$PORT', notes: [], ...fields };
}

/** Hugo: a hugo.* config, or a config.* next to content/ or layouts/ (config.toml alone is too common). */
export async function detectHugo(scope: Scope): Promise<ServiceDraft | undefined> {
  const config = await firstFile(scope, HUGO_CONFIGS);
  if (!config) return undefined;
  const hugoNamed = config.startsWith('hugo.');
  const text = (await readIn(scope, config, 64 * 1024)) ?? '';
  const siteLayout = (await dirExists(scope, 'content')) || (await dirExists(scope, 'layouts')) || (await dirExists(scope, 'themes'));
  if (!hugoNamed && !(siteLayout && /\bbaseURL\b|\btheme\b/i.test(text))) return undefined;
  const configured = /publishDir\s*[=:]\s*["']([^"']+)["']/.exec(text)?.[1];
  const publishDir = configured && isInsideFolder(configured) ? configured : 'public';
  return staticService(scope, 'Hugo', {
    build: 'hugo --minify',
    staticDir: publishDir,
    evidence: [{ file: fileIn(scope, config), reason: hugoNamed ? 'Hugo config' : 'Hugo config with content folders' }],
  });
}

/** Jekyll: a Gemfile asking for jekyll (or github-pages), or _config.yml beside _posts/_layouts. */
export async function detectJekyll(scope: Scope): Promise<ServiceDraft | undefined> {
  const gemfile = await readIn(scope, 'Gemfile');
  const gems = gemfile !== undefined ? parseGemfile(gemfile) : new Set<string>();
  const gem = ['jekyll', 'github-pages'].find((name) => gems.has(name));
  const config = await fileExists(scope, '_config.yml');
  const layout = (await dirExists(scope, '_posts')) || (await dirExists(scope, '_layouts'));
  if (!gem && !(config && layout)) return undefined;
  const evidence: Evidence[] = gem
    ? [{ file: fileIn(scope, 'Gemfile'), reason: `gem "${gem}"` }]
    : [{ file: fileIn(scope, '_config.yml'), reason: 'Jekyll config with _posts or _layouts' }];
  if (gemfile === undefined) {
    return staticService(scope, 'Jekyll', { build: 'jekyll build', staticDir: '_site', evidence });
  }
  const bundler: Evidence = { file: fileIn(scope, 'Gemfile'), reason: 'Gemfile' };
  return staticService(scope, 'Jekyll', {
    packageManager: 'bundler',
    packageManagerEvidence: bundler,
    install: 'bundle install',
    build: 'bundle exec jekyll build',
    staticDir: '_site',
    env: { JEKYLL_ENV: 'production' },
    evidence: [...evidence, bundler],
  });
}

export async function detectMkDocs(scope: Scope): Promise<ServiceDraft | undefined> {
  const config = await firstFile(scope, ['mkdocs.yml', 'mkdocs.yaml']);
  if (!config) return undefined;
  const configured = /^site_dir\s*:\s*["']?([^"'\s#]+)/m.exec((await readIn(scope, config, 64 * 1024)) ?? '')?.[1];
  const siteDir = configured && isInsideFolder(configured) ? configured : 'site';
  const project = await readPythonProject(scope);
  const commands = project ? pythonCommands(project) : { install: 'pip install mkdocs', run: '' };
  return staticService(scope, 'MkDocs', {
    ...(project ? { packageManager: project.manager, packageManagerEvidence: project.managerEvidence } : {}),
    ...(commands.install ? { install: commands.install } : {}),
    build: `${commands.run}mkdocs build`,
    staticDir: siteDir,
    evidence: [{ file: fileIn(scope, config), reason: 'MkDocs config' }],
  });
}

const BUILT_DIRS = ['dist', 'build', 'public', '_site', 'out', 'www', 'site'];

/** A hand-written site (index.html at the top) or an already built one committed in dist/, public/... */
export async function detectPlainStatic(scope: Scope): Promise<ServiceDraft | undefined> {
  if (await fileExists(scope, 'index.html')) {
    return staticService(scope, 'static HTML', { staticDir: '.', evidence: [{ file: fileIn(scope, 'index.html'), reason: 'site entry page' }] });
  }
  for (const dir of BUILT_DIRS) {
    if (await fileExists(scope, `${dir}/index.html`)) {
      return staticService(scope, 'static HTML', {
        staticDir: dir,
        evidence: [{ file: fileIn(scope, `${dir}/index.html`), reason: 'built site entry page' }],
      });
    }
  }
  return undefined;
}
