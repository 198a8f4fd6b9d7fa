import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dockerStart, parseDockerfile } from '../../src/manifest/detect/dockerfile.js';
import { parseGoMod } from '../../src/manifest/detect/go.js';
import { dnsLabel, uniqueName } from '../../src/manifest/detect/names.js';
import { scriptEntry } from '../../src/manifest/detect/node-facts.js';
import { toPackageJson } from '../../src/manifest/detect/node-package.js';
import { detectNodeToolchain, nodeCommands } from '../../src/manifest/detect/node-toolchain.js';
import { parseRequirement } from '../../src/manifest/detect/python-deps.js';
import { isInsideFolder, stripJsonComments, type Scope } from '../../src/manifest/detect/read.js';
import { healthRoute, portUse } from '../../src/manifest/detect/source-scan.js';
import { memoryTree } from '../../src/manifest/detect/source-tree.js';
import { parseTomlLite, tomlString, tomlStrings, tomlTable } from '../../src/manifest/detect/toml-lite.js';
import { expandWorkspaces } from '../../src/manifest/detect/workspaces.js';
import { isDnsName } from '../../src/manifest/index.js';

const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);

describe('names', () => {
  it('dnsLabel turns any text into a name the manifest accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        expect(isDnsName(dnsLabel(text))).toBe(true);
      }),
    );
    expect(dnsLabel('@acme/Web App')).toBe('web-app');
    expect(dnsLabel('___')).toBe('app');
  });

  it('uniqueName never hands out a name twice and keeps it a DNS label', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 70 }).map((text) => dnsLabel(text)), { maxLength: 30 }), (wanted) => {
        const taken = new Set<string>();
        const given = wanted.map((name) => uniqueName(name, taken));
        expect(new Set(given).size).toBe(given.length);
        for (const name of given) expect(isDnsName(name)).toBe(true);
      }),
    );
  });
});

describe('stripJsonComments', () => {
  it('JSON with a comment after every line and trailing commas parses to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('// note', '/* note */', '/* a // b */'), (value, comment) => {
        const text = JSON.stringify(value, null, 2)
          .split('\n')
          .map((line) => `${line} ${comment}`)
          .join('\n');
        const withTrailingCommas = text.replace(/("|\d|true|false|null|[}\]])( \/[/*].*)\n(\s*[}\]])/g, '$1,$2\n$3');
        expect(JSON.parse(stripJsonComments(withTrailingCommas))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('leaves commas, slashes and brackets inside strings alone', () => {
    const text = '{ "a": "x,}", "b": "http://host/*not a comment*/", "c": [1, 2,], }';
    expect(JSON.parse(stripJsonComments(text))).toEqual({ a: 'x,}', b: 'http://host/*not a comment*/', c: [1, 2] });
  });
});

describe('toml-lite', () => {
  it('reads back string keys of generated tables, arrays across lines included', () => {
    const table = fc.record({
      name: fc.array(word, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.')),
      entries: fc.uniqueArray(fc.tuple(word, fc.string({ maxLength: 20 }).filter((text) => !/["\\\n\r]/.test(text))), {
        selector: ([key]) => key,
        maxLength: 5,
      }),
      list: fc.array(fc.stringMatching(/^[a-z][a-z0-9[\]>=<.,-]{0,15}$/), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(table, { selector: (entry) => entry.name, maxLength: 4 }), (tables) => {
        const text = tables
          .map(
            (entry) =>
              `[${entry.name}]\n${entry.entries.map(([key, value]) => `${key} = "${value}" # comment`).join('\n')}\n` +
              `items = [\n${entry.list.map((item) => `  "${item}", # why\n`).join('')}]\n`,
          )
          .join('\n');
        const doc = parseTomlLite(text);
        for (const entry of tables) {
          const parsed = tomlTable(doc, entry.name);
          expect(parsed).toBeDefined();
          for (const [key, value] of entry.entries) if (key !== 'items') expect(tomlString(parsed!.entries.get(key))).toBe(value);
          expect(tomlStrings(parsed!.entries.get('items'))).toEqual(entry.list);
        }
      }),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const doc = parseTomlLite(text);
        for (const table of doc) for (const value of table.entries.values()) tomlStrings(value);
      }),
    );
  });
});

describe('requirements', () => {
  it('finds the normalised name of any requirement line', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,14}[A-Za-z0-9]$/);
    const extras = fc.array(word, { maxLength: 2 });
    const spec = fc.constantFrom('', '==1.0', '>=2,<3', ' ~= 1.4', '; python_version < "3.12"', ' @ https://x/y.whl');
    fc.assert(
      fc.property(name, extras, spec, (raw, extra, rest) => {
        const line = `${raw}${extra.length > 0 ? `[${extra.join(',')}]` : ''}${rest}`;
        expect(parseRequirement(line)).toEqual({ name: raw.toLowerCase().replace(/[-_.]+/g, '-'), extras: extra });
      }),
    );
  });
});

describe('go.mod', () => {
  it('reads the module path and every required module, in block or single form', () => {
    const modulePath = fc.array(word, { minLength: 1, maxLength: 4 }).map((parts) => `example.com/${parts.join('/')}`);
    fc.assert(
      fc.property(modulePath, fc.uniqueArray(modulePath, { maxLength: 6 }), fc.boolean(), (module, requires, block) => {
        const body = block
          ? `require (\n${requires.map((path) => `\t${path} v1.2.3 // indirect`).join('\n')}\n)\n`
          : requires.map((path) => `require ${path} v0.0.1`).join('\n');
        expect(parseGoMod(`module ${module}\n\ngo 1.22\n\n${body}\n`)).toEqual({ module, requires });
      }),
    );
  });
});

describe('Dockerfile', () => {
  it('an exec-form CMD of plain words starts exactly those words', () => {
    const plain = fc.stringMatching(/^[\w./-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(plain, { minLength: 1, maxLength: 6 }), (words) => {
        const facts = parseDockerfile(`FROM scratch\nCMD ${JSON.stringify(words)}\n`);
        expect(dockerStart(facts)).toBe(words.join(' '));
      }),
    );
  });

  it('joins ENTRYPOINT with CMD, unwraps sh -c, quotes what the shell would split, reads only the final stage', () => {
    const start = (text: string): string | undefined => dockerStart(parseDockerfile(text));
    expect(start('FROM a\nENTRYPOINT ["python", "-m"]\nCMD ["app", "--name", "two words"]')).toBe("python -m app --name 'two words'");
    expect(start('FROM a\nCMD ["sh", "-c", "node server.js --port $PORT"]')).toBe('node server.js --port $PORT');
    expect(start('FROM a\nCMD node \\\n  server.js')).toBe('node    server.js');
    expect(start('FROM a AS build\nCMD ["make"]\nFROM b\nRUN true')).toBeUndefined();
    const facts = parseDockerfile('FROM a\nEXPOSE 8080/tcp 9090\nENV PORT=3000\nCMD ["x"]');
    expect(facts.expose).toEqual([8080, 9090]);
    expect(facts.usesPort).toBe(true);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        dockerStart(parseDockerfile(text));
      }),
    );
  });
});

describe('source scanning', () => {
  it('tells an app that reads PORT from one pinned to a port', () => {
    expect(portUse(['app.listen(process.env.PORT || 3000)'])).toEqual({ kind: 'env' });
    expect(portUse(['port = int(os.environ.get("PORT", 8000))'])).toEqual({ kind: 'env' });
    expect(portUse(['http.ListenAndServe(":"+os.Getenv("PORT"), nil)'])).toEqual({ kind: 'env' });
    expect(portUse(['const PORT = 3000;\napp.listen(PORT, () => console.log(`on ${PORT}`))'])).toEqual({ kind: 'fixed', port: 3000 });
    expect(portUse(['e.Start(":8080")'])).toEqual({ kind: 'fixed', port: 8080 });
    expect(portUse(['HttpServer::new(app).bind(("0.0.0.0", 8081))'])).toEqual({ kind: 'fixed', port: 8081 });
    expect(portUse(['print("hello")'])).toEqual({ kind: 'unknown' });
    expect(healthRoute(['app.get("/api/health", h)'])).toBe('/api/health');
    expect(healthRoute(['app.get("/healthy-cats", h)'])).toBeUndefined();
  });

  it('finds the file a start script runs', () => {
    expect(scriptEntry('node dist/server.js')).toBe('dist/server.js');
    expect(scriptEntry('node --enable-source-maps ./build/index.mjs')).toBe('build/index.mjs');
    expect(scriptEntry('NODE_ENV=production tsx src/main.ts')).toBe('src/main.ts');
    expect(scriptEntry('next start')).toBeUndefined();
  });

  it('keeps folders from configs inside the service', () => {
    expect(isInsideFolder('dist')).toBe(true);
    expect(isInsideFolder('./.output/public/')).toBe(true);
    expect(isInsideFolder('../dist')).toBe(false);
    expect(isInsideFolder('a/../../b')).toBe(false);
    expect(isInsideFolder('/var/www')).toBe(false);
    expect(isInsideFolder('C:\\site')).toBe(false);
  });
});

describe('Node package manager', () => {
  const lockfiles = { npm: 'package-lock.json', pnpm: 'pnpm-lock.yaml', yarn: 'yarn.lock', bun: 'bun.lockb' } as const;
  const manager = fc.constantFrom('npm', 'pnpm', 'yarn', 'bun' as const);

  it('takes the packageManager field, then a lockfile, then engines, then npm', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(manager), fc.option(manager), fc.option(fc.constantFrom('pnpm', 'yarn', 'bun' as const)), async (field, lock, engine) => {
        const pkg = {
          ...(field ? { packageManager: `${field}@9.0.0` } : {}),
          ...(engine ? { engines: { [engine]: '>=1' } } : {}),
        };
        const files: Record<string, string> = { 'package.json': JSON.stringify(pkg) };
        if (lock) files[lockfiles[lock]] = lock === 'yarn' ? '# yarn lockfile v1\n' : 'stub';
        const scope: Scope = { tree: memoryTree(files), dir: '.', problems: [] };
        const toolchain = await detectNodeToolchain([scope], [toPackageJson(pkg)]);
        const expected = field ?? lock ?? engine ?? 'npm';
        expect(toolchain.packageManager).toBe(expected);
        // Installs are frozen exactly when the lockfile belongs to the chosen package manager.
        const frozen = lock !== null && lock === expected;
        const install = nodeCommands(toolchain).install;
        expect(install === 'npm ci' || /--frozen-lockfile|--immutable/.test(install)).toBe(frozen);
      }),
    );
  });
});

describe('workspace globs', () => {
  it('apps/* matches exactly the folders right under apps, and ! patterns take folders out', async () => {
    const folder = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(folder, { maxLength: 6 }), fc.uniqueArray(folder, { maxLength: 4 }), async (apps, others) => {
        const files: Record<string, string> = {};
        for (const app of apps) files[`apps/${app}/package.json`] = '{}';
        for (const other of others) files[`tools/${other}/deep/package.json`] = '{}';
        const root: Scope = { tree: memoryTree(files), dir: '.', problems: [] };
        expect(await expandWorkspaces(root, ['apps/*'])).toEqual(apps.map((app) => `apps/${app}`).sort());
        const excluded = apps[0];
        if (excluded) {
          expect(await expandWorkspaces(root, ['apps/*', `!apps/${excluded}`])).not.toContain(`apps/${excluded}`);
        }
        expect(await expandWorkspaces(root, ['tools/**'])).toEqual(
          expect.arrayContaining(others.map((other) => `tools/${other}/deep`)),
        );
      }),
      { numRuns: 60 },
    );
  });
});
