import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeDetection, detect, type DetectedService } from '../../src/manifest/detect/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Expected {
  framework: string;
  runtime: DetectedService['runtime'];
  packageManager?: DetectedService['packageManager'];
  install?: string;
  build?: string;
  start?: string;
  staticDir?: string;
  port?: DetectedService['port'];
  health?: string;
  env?: Record<string, string>;
  /** describeDetection's line for the service, after `web: `. */
  said: string;
  project?: string;
  note?: RegExp;
}

/** One folder per framework; each row is what `maestro init` must write for it. */
const SINGLE_APPS: Record<string, Expected> = {
  'next-pnpm': {
    framework: 'Next.js',
    runtime: 'node',
    packageManager: 'pnpm',
    install: 'pnpm install --frozen-lockfile',
    build: 'pnpm run build',
    start: 'pnpm exec next start -p $PORT',
    env: { NODE_ENV: 'production' },
    said: 'detected Next.js from package.json dependency "next" (pnpm from packageManager field "pnpm@9.1.0")',
    project: 'storefront',
  },
  'next-export-npm': {
    framework: 'Next.js',
    runtime: 'static',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build',
    staticDir: 'out',
    said: 'detected Next.js from package.json dependency "next" (npm from package-lock.json)',
  },
  'next-standalone': {
    framework: 'Next.js',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build && cp -r .next/static .next/standalone/.next/static && cp -r public .next/standalone/public',
    start: 'node .next/standalone/server.js',
    env: { NODE_ENV: 'production', HOSTNAME: '0.0.0.0' },
    said: 'detected Next.js from package.json dependency "next" (npm from package-lock.json)',
  },
  'nuxt-yarn': {
    framework: 'Nuxt',
    runtime: 'node',
    packageManager: 'yarn',
    install: 'yarn install --frozen-lockfile',
    build: 'yarn run build',
    start: 'node .output/server/index.mjs',
    said: 'detected Nuxt from package.json dependency "nuxt" (yarn from yarn.lock)',
  },
  'remix-npm': {
    framework: 'Remix',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build',
    start: 'npx remix-serve ./build/server/index.js',
    said: 'detected Remix from package.json dependency "@remix-run/node" (npm from package-lock.json)',
  },
  'astro-static': {
    framework: 'Astro',
    runtime: 'static',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build',
    staticDir: 'dist',
    said: 'detected Astro from package.json dependency "astro" (npm from package-lock.json)',
  },
  'astro-ssr-node': {
    framework: 'Astro (SSR)',
    runtime: 'node',
    packageManager: 'pnpm',
    install: 'pnpm install --frozen-lockfile',
    build: 'pnpm run build',
    start: 'node ./dist/server/entry.mjs',
    env: { NODE_ENV: 'production', HOST: '0.0.0.0' },
    said: 'detected Astro (SSR) from package.json dependency "astro" (pnpm from pnpm-lock.yaml)',
  },
  'sveltekit-node': {
    framework: 'SvelteKit',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build',
    start: 'node build',
    said: 'detected SvelteKit from package.json devDependency "@sveltejs/kit" (npm from package-lock.json)',
  },
  'sveltekit-static': {
    framework: 'SvelteKit (static)',
    runtime: 'static',
    packageManager: 'pnpm',
    build: 'pnpm run build',
    staticDir: 'site',
    said: 'detected SvelteKit (static) from package.json devDependency "@sveltejs/kit" (pnpm from pnpm-lock.yaml)',
  },
  'vite-react-bun': {
    framework: 'Vite (React)',
    runtime: 'static',
    packageManager: 'bun',
    install: 'bun install --frozen-lockfile',
    build: 'bun run build',
    staticDir: 'dist',
    said: 'detected Vite (React) from package.json devDependency "vite" (bun from bun.lockb)',
  },
  'nestjs-npm': {
    framework: 'NestJS',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    build: 'npm run build',
    start: 'node dist/main',
    port: '$PORT',
    said: 'detected NestJS from package.json dependency "@nestjs/core" (npm from package-lock.json)',
  },
  'express-npm': {
    framework: 'Express',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    start: 'npm start',
    health: '/health',
    said: 'detected Express from package.json dependency "express" (npm from package-lock.json)',
  },
  'fastify-yarn-berry': {
    framework: 'Fastify',
    runtime: 'node',
    packageManager: 'yarn',
    install: 'yarn install --immutable',
    start: 'yarn start',
    health: '/healthz',
    said: 'detected Fastify from package.json dependency "fastify" (yarn from packageManager field "yarn@4.1.1")',
  },
  'koa-fixed-port': {
    framework: 'Koa',
    runtime: 'node',
    packageManager: 'npm',
    install: 'npm ci',
    start: 'node index.js',
    port: 3000,
    said: 'detected Koa from package.json dependency "koa" (npm from package-lock.json)',
    note: /index\.js listens on fixed port 3000/,
  },
  'hapi-pnpm-engines': {
    framework: 'Hapi',
    runtime: 'node',
    packageManager: 'pnpm',
    install: 'pnpm install',
    start: 'pnpm start',
    said: 'detected Hapi from package.json dependency "@hapi/hapi" (pnpm from engines.pnpm ">=9")',
    note: /no pnpm lockfile/,
  },
  'node-plain': {
    framework: 'Node.js',
    runtime: 'node',
    packageManager: 'npm',
    start: 'node server.js',
    said: 'detected Node.js from server.js "main" entry (npm, no lockfile)',
  },
  'bun-elysia': {
    framework: 'Elysia on Bun',
    runtime: 'custom',
    packageManager: 'bun',
    install: 'bun install --frozen-lockfile',
    start: 'bun run start',
    said: 'detected Elysia on Bun from package.json dependency "elysia" (bun from bun.lockb)',
  },
  'angular-npm': {
    framework: 'Angular',
    runtime: 'static',
    packageManager: 'npm',
    build: 'npm run build',
    staticDir: 'dist/admin/browser',
    said: 'detected Angular from package.json dependency "@angular/core" (npm from package-lock.json)',
  },
  'deno-plain': {
    framework: 'Deno',
    runtime: 'custom',
    packageManager: 'deno',
    install: 'deno cache main.ts',
    start: 'deno task start',
    port: '$PORT',
    said: 'detected Deno from deno.json Deno config (deno from deno.json)',
  },
  'deno-fresh': {
    framework: 'Fresh',
    runtime: 'custom',
    packageManager: 'deno',
    build: 'deno task build',
    start: 'deno run -A main.ts',
    port: '$PORT',
    said: 'detected Fresh from deno.json import "$fresh/" (deno from deno.json)',
  },
  'fastapi-requirements': {
    framework: 'FastAPI',
    runtime: 'python',
    packageManager: 'pip',
    install: 'pip install -r requirements.txt',
    start: 'uvicorn app.main:app --host 0.0.0.0 --port $PORT',
    health: '/health',
    said: 'detected FastAPI from requirements.txt dependency "fastapi" (pip from requirements.txt)',
  },
  'fastapi-uv': {
    framework: 'FastAPI',
    runtime: 'python',
    packageManager: 'uv',
    install: 'uv sync --frozen --no-dev',
    start: 'uv run --no-sync uvicorn main:api --host 0.0.0.0 --port $PORT --app-dir src',
    said: 'detected FastAPI from pyproject.toml dependency "fastapi" (uv from uv.lock)',
    project: 'inventory',
  },
  'flask-poetry': {
    framework: 'Flask',
    runtime: 'python',
    packageManager: 'poetry',
    install: 'poetry install --only main --no-root --no-interaction',
    start: 'poetry run gunicorn app:app --bind 0.0.0.0:$PORT',
    said: 'detected Flask from pyproject.toml dependency "flask" (poetry from poetry.lock)',
    project: 'guestbook',
  },
  'django-pip': {
    framework: 'Django',
    runtime: 'python',
    packageManager: 'pip',
    install: 'pip install -r requirements.txt',
    build: 'python manage.py collectstatic --noinput',
    start: 'gunicorn mysite.wsgi --bind 0.0.0.0:$PORT',
    said: 'detected Django from requirements.txt dependency "django" (pip from requirements.txt)',
  },
  'python-plain': {
    framework: 'Python',
    runtime: 'python',
    packageManager: 'pip',
    start: 'python main.py',
    port: '$PORT',
    said: 'detected Python from main.py entry script (pip from requirements.txt)',
  },
  'go-gin': {
    framework: 'Gin',
    runtime: 'go',
    packageManager: 'go',
    install: 'go mod download',
    build: 'go build -o ./bin/app .',
    start: './bin/app',
    port: '$PORT',
    health: '/healthz',
    env: { GIN_MODE: 'release' },
    said: 'detected Gin from go.mod require github.com/gin-gonic/gin (go from go.mod)',
    project: 'catalog',
  },
  'go-nethttp-cmd': {
    framework: 'Go net/http',
    runtime: 'go',
    packageManager: 'go',
    build: 'go build -o ./bin/app ./cmd/relay',
    start: './bin/app',
    said: 'detected Go net/http from cmd/relay/main.go imports net/http (go from go.mod)',
  },
  'go-echo-fixed': {
    framework: 'Echo',
    runtime: 'go',
    packageManager: 'go',
    build: 'go build -o ./bin/app .',
    start: './bin/app',
    port: 8080,
    said: 'detected Echo from go.mod require github.com/labstack/echo/v4 (go from go.mod)',
    note: /main\.go listens on fixed port 8080/,
  },
  rails: {
    framework: 'Rails',
    runtime: 'ruby',
    packageManager: 'bundler',
    install: 'bundle install',
    build: 'SECRET_KEY_BASE_DUMMY=1 bundle exec rails assets:precompile',
    start: 'bundle exec rails server -b 0.0.0.0 -p $PORT',
    health: '/up',
    said: 'detected Rails from Gemfile gem "rails" (bundler from Gemfile)',
  },
  sinatra: {
    framework: 'Sinatra',
    runtime: 'ruby',
    packageManager: 'bundler',
    install: 'bundle install',
    start: 'bundle exec puma -b tcp://0.0.0.0:$PORT config.ru',
    said: 'detected Sinatra from Gemfile gem "sinatra" (bundler from Gemfile)',
  },
  'static-html': {
    framework: 'static HTML',
    runtime: 'static',
    staticDir: '.',
    said: 'detected static HTML from index.html site entry page',
  },
  'built-site': {
    framework: 'static HTML',
    runtime: 'static',
    staticDir: 'public',
    said: 'detected static HTML from public/index.html built site entry page',
  },
  hugo: {
    framework: 'Hugo',
    runtime: 'static',
    build: 'hugo --minify',
    staticDir: 'public',
    said: 'detected Hugo from hugo.toml Hugo config',
  },
  jekyll: {
    framework: 'Jekyll',
    runtime: 'static',
    packageManager: 'bundler',
    install: 'bundle install',
    build: 'bundle exec jekyll build',
    staticDir: '_site',
    said: 'detected Jekyll from Gemfile gem "jekyll" (bundler from Gemfile)',
  },
  mkdocs: {
    framework: 'MkDocs',
    runtime: 'static',
    packageManager: 'pip',
    install: 'pip install -r requirements.txt',
    build: 'mkdocs build',
    staticDir: 'site',
    said: 'detected MkDocs from mkdocs.yml MkDocs config (pip from requirements.txt)',
  },
  'dockerfile-only': {
    framework: 'Dockerfile',
    runtime: 'custom',
    start: '/server --log-level info',
    port: 8080,
    said: 'detected Dockerfile from Dockerfile CMD ["/server", "--log-level", "info"]',
    note: /listens on 8080 \(EXPOSE\)/,
  },
  'dockerfile-port': {
    framework: 'Dockerfile',
    runtime: 'custom',
    start: 'exec python -m http.server $PORT',
    port: '$PORT',
    said: 'detected Dockerfile from Dockerfile CMD exec python -m http.server $PORT',
  },
  laravel: {
    framework: 'Laravel',
    runtime: 'custom',
    packageManager: 'composer',
    install: 'composer install --no-dev --optimize-autoloader --no-interaction',
    start: 'php artisan serve --host=0.0.0.0 --port=$PORT',
    health: '/up',
    said: 'detected Laravel from composer.json require "laravel/framework" (composer from composer.json)',
  },
  'php-plain': {
    framework: 'PHP',
    runtime: 'custom',
    start: 'php -S 0.0.0.0:$PORT -t .',
    said: 'detected PHP from index.php front controller',
  },
  'rust-axum': {
    framework: 'Axum',
    runtime: 'custom',
    packageManager: 'cargo',
    install: 'cargo fetch',
    build: 'cargo build --release',
    start: './target/release/ledger',
    port: '$PORT',
    health: '/health',
    said: 'detected Axum from Cargo.toml dependency "axum" (cargo from Cargo.toml)',
    project: 'ledger',
  },
  'spring-maven': {
    framework: 'Spring Boot',
    runtime: 'custom',
    packageManager: 'maven',
    build: './mvnw -B -DskipTests package',
    start: 'java -Dserver.port=$PORT -jar target/billing-0.0.1-SNAPSHOT.jar',
    health: '/actuator/health',
    said: 'detected Spring Boot from pom.xml parent spring-boot-starter-parent (maven from pom.xml)',
  },
  'spring-gradle': {
    framework: 'Spring Boot',
    runtime: 'custom',
    packageManager: 'gradle',
    build: './gradlew bootJar',
    start: `java -Dserver.port=$PORT -jar "$(ls build/libs/*.jar | grep -v -- '-plain.jar$' | head -n 1)"`,
    said: 'detected Spring Boot from build.gradle.kts plugin org.springframework.boot (gradle from build.gradle.kts)',
  },
  'dotnet-aspnet': {
    framework: 'ASP.NET Core',
    runtime: 'custom',
    packageManager: 'dotnet',
    install: 'dotnet restore Api.csproj',
    build: 'dotnet publish Api.csproj -c Release -o out',
    start: 'dotnet out/Api.dll --urls http://0.0.0.0:$PORT',
    health: '/healthz',
    said: 'detected ASP.NET Core from Api.csproj Sdk "Microsoft.NET.Sdk.Web" (dotnet from Api.csproj)',
  },
  phoenix: {
    framework: 'Phoenix',
    runtime: 'custom',
    packageManager: 'mix',
    install: 'MIX_ENV=prod mix deps.get --only prod',
    build: 'MIX_ENV=prod mix compile && MIX_ENV=prod mix assets.deploy',
    start: 'mix phx.server',
    port: '$PORT',
    env: { MIX_ENV: 'prod', PHX_SERVER: 'true' },
    said: 'detected Phoenix from mix.exs dependency :phoenix (mix from mix.exs)',
    note: /DATABASE_URL/,
  },
  'gleam-wisp': {
    framework: 'Gleam (Wisp)',
    runtime: 'custom',
    packageManager: 'gleam',
    install: 'gleam deps download',
    build: 'gleam export erlang-shipment',
    start: './build/erlang-shipment/entrypoint.sh run',
    port: 8000,
    said: 'detected Gleam (Wisp) from gleam.toml dependency "wisp" (gleam from gleam.toml)',
  },
};

describe('detect() on one app per folder', () => {
  for (const [name, expected] of Object.entries(SINGLE_APPS)) {
    it(`${name}: ${expected.framework}`, async () => {
      const detection = await detect(fixture(name));
      expect(detection.problems).toEqual([]);
      expect(detection.services).toHaveLength(1);
      const service = detection.services[0]!;
      expect(service.name).toBe('web');
      expect(service.path).toBe('.');
      expect(service.framework).toBe(expected.framework);
      expect(service.runtime).toBe(expected.runtime);
      expect(service.packageManager).toBe(expected.packageManager);
      if ('install' in expected) expect(service.install).toBe(expected.install);
      if ('build' in expected) expect(service.build).toBe(expected.build);
      expect(service.start).toBe(expected.start);
      expect(service.staticDir).toBe(expected.staticDir);
      if (expected.runtime !== 'static') expect(service.port).toBe(expected.port ?? '$PORT');
      expect(service.health).toBe(expected.health);
      if (expected.env) expect(service.env).toEqual(expected.env);
      if (expected.project) expect(detection.project).toBe(expected.project);
      if (expected.note) expect(service.notes.join('\n')).toMatch(expected.note);
      expect(describeDetection(detection)[0]).toBe(`web: ${expected.said}`);
    });
  }
});

describe('detect() on monorepos', () => {
  it('Turborepo with pnpm workspaces: one service per app, libraries skipped, depends_on between apps', async () => {
    const detection = await detect(fixture('turborepo-pnpm'));
    expect(detection.problems).toEqual([]);
    expect(detection.project).toBe('acme');
    expect(detection.services.map((service) => [service.name, service.path, service.framework])).toEqual([
      ['api', 'apps/api', 'Express'],
      ['web', 'apps/web', 'Next.js'],
    ]);
    const [api, web] = detection.services;
    expect(web!.dependsOn).toEqual(['api']);
    expect(api!.dependsOn).toBeUndefined();
    expect(web!.install).toBe('cd ../.. && pnpm install --frozen-lockfile');
    expect(web!.build).toBe('cd ../.. && pnpm exec turbo run build --filter=@acme/web');
    expect(web!.start).toBe('pnpm exec next start -p $PORT');
    expect(api!.start).toBe('pnpm start');
    expect(web!.evidence[0]).toEqual({ file: 'apps/web/package.json', reason: 'dependency "next"' });
    expect(detection.skipped).toEqual([{ path: 'packages/ui', reason: 'library: no start script and no app framework' }]);
  });

  it('npm workspaces without a task runner build through the workspace flag', async () => {
    const detection = await detect(fixture('npm-workspaces'));
    expect(detection.problems).toEqual([]);
    const byName = Object.fromEntries(detection.services.map((service) => [service.name, service]));
    expect(Object.keys(byName).sort()).toEqual(['server', 'site']);
    expect(byName.site!.runtime).toBe('static');
    expect(byName.site!.staticDir).toBe('dist');
    expect(byName.site!.build).toBe('cd ../.. && npm run build --workspace=apps/site');
    expect(byName.server!.framework).toBe('Fastify');
    expect(byName.server!.install).toBe('cd ../.. && npm ci');
    // `shared` is a library, so no app depends on another.
    expect(byName.site!.dependsOn).toBeUndefined();
    expect(detection.skipped?.map((entry) => entry.path)).toEqual(['packages/shared']);
  });

  it('an integrated Nx workspace: apps from project.json, built by nx at the root', async () => {
    const detection = await detect(fixture('nx-integrated'));
    expect(detection.problems).toEqual([]);
    const byName = Object.fromEntries(detection.services.map((service) => [service.name, service]));
    expect(byName.api).toMatchObject({
      path: '.',
      runtime: 'node',
      build: 'npx nx build api',
      start: 'node dist/apps/api/main.js',
    });
    expect(byName.dashboard).toMatchObject({ runtime: 'static', staticDir: 'dist/apps/dashboard', dependsOn: ['api'] });
    expect(detection.skipped).toEqual([{ path: 'libs/shared', reason: 'Nx library' }]);
  });
});
