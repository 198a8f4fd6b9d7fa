import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepEnvironment } from '../../src/build/step-env.js';
import { removeDir, tempDir } from './tree-helpers.js';

const home = '/data/work/bld_1/home';
const inherited = { PATH: '/usr/bin:/bin', HOME: '/nonexistent-home', SECRET: 'from the control plane' };
const options = { inherited, nodeBinary: '/opt/node/bin/node' };

describe('the environment of a build step', () => {
  let hostHome: string;
  beforeAll(async () => {
    hostHome = await tempDir('maestro-step-env-');
    await mkdir(join(hostHome, '.rustup'));
  });
  afterAll(async () => removeDir(hostHome));

  it('is the known few and what the service declares, for a service that uses neither Go nor Cargo', () => {
    expect(stepEnvironment(home, { NODE_ENV: 'production' }, options)).toEqual({
      PATH: '/opt/node/bin:/usr/bin:/bin',
      HOME: home,
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      CI: '1',
      NODE_ENV: 'production',
    });
  });

  it('puts Go\'s folders under HOME and keeps its module cache writable', () => {
    const env = stepEnvironment(home, {}, { ...options, tools: ['go'] });
    expect(env).toMatchObject({
      GOPATH: `${home}/go`,
      GOMODCACHE: `${home}/go/pkg/mod`,
      GOCACHE: `${home}/.cache/go-build`,
      GOFLAGS: '-modcacherw',
    });
    expect(env.CARGO_HOME).toBeUndefined();
  });

  it('leaves what the service sets, adding -modcacherw to its own GOFLAGS once', () => {
    const env = stepEnvironment(home, { GOFLAGS: '-mod=mod', GOPATH: '/srv/gopath' }, { ...options, tools: ['go'] });
    expect(env).toMatchObject({ GOFLAGS: '-mod=mod -modcacherw', GOPATH: '/srv/gopath', GOMODCACHE: '/srv/gopath/pkg/mod' });
    expect(stepEnvironment(home, { GOFLAGS: '-modcacherw -trimpath' }, { ...options, tools: ['go'] }).GOFLAGS).toBe('-modcacherw -trimpath');
    expect(stepEnvironment(home, { GOMODCACHE: '/srv/mod' }, { ...options, tools: ['go'] }).GOMODCACHE).toBe('/srv/mod');
  });

  it('gives Cargo a home under HOME and finds rustup\'s toolchains where the host keeps them', () => {
    const env = stepEnvironment(home, {}, { ...options, inherited: { ...inherited, HOME: hostHome }, tools: ['cargo'] });
    expect(env).toMatchObject({ CARGO_HOME: `${home}/.cargo`, RUSTUP_HOME: join(hostHome, '.rustup') });
    expect(env.GOPATH).toBeUndefined();
    expect(stepEnvironment(home, {}, { ...options, inherited: { ...inherited, RUSTUP_HOME: '/opt/rustup' }, tools: ['cargo'] }).RUSTUP_HOME).toBe('/opt/rustup');
    // No rustup on the host: nothing to point at.
    expect(stepEnvironment(home, {}, { ...options, tools: ['cargo'] }).RUSTUP_HOME).toBeUndefined();
    expect(Object.values(stepEnvironment(home, {}, { ...options, tools: ['cargo', 'go'] }))).not.toContain('from the control plane');
  });
});
