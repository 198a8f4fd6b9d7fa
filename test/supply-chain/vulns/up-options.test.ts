import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addServerOptions, upOptions } from '../../../src/cli/commands/server.js';

/** What `maestro up ARGS` passes on to startMaestro. */
function parse(args: string[], env: Record<string, string> = {}) {
  const saved = process.env.MAESTRO_ADVISORIES;
  if (env.MAESTRO_ADVISORIES) process.env.MAESTRO_ADVISORIES = env.MAESTRO_ADVISORIES;
  else delete process.env.MAESTRO_ADVISORIES;
  try {
    const command = addServerOptions(new Command('up').exitOverride());
    command.parse(args, { from: 'user' });
    return upOptions(command.opts() as Parameters<typeof upOptions>[0]);
  } finally {
    if (saved === undefined) delete process.env.MAESTRO_ADVISORIES;
    else process.env.MAESTRO_ADVISORIES = saved;
  }
}

describe('maestro up: where advisories come from', () => {
  it('--advisories or MAESTRO_ADVISORIES; npm only when asked, optional unless required', () => {
    expect(parse([])).not.toHaveProperty('advisories');
    expect(parse([])).not.toHaveProperty('npmAdvisories');
    expect(parse(['--advisories', '/srv/osv/npm-all.zip']).advisories).toBe('/srv/osv/npm-all.zip');
    expect(parse([], { MAESTRO_ADVISORIES: '/srv/osv' }).advisories).toBe('/srv/osv');
    expect(parse(['--npm-advisories']).npmAdvisories).toEqual({ required: false });
    expect(parse(['--npm-advisories', 'https://npm.example.com/api/npm/', '--npm-advisories-required']).npmAdvisories).toEqual({
      registry: 'https://npm.example.com/api/npm/',
      required: true,
    });
  });
});
