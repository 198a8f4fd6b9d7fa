import { Command, CommanderError } from 'commander';
import { isMaestroError, errorMessage } from '../common/index.js';
import { maestroVersion } from '../server/index.js';
import { buildsCommands, runnerCommand } from './commands/builds.js';
import { deployCommand } from './commands/deploy.js';
import { demoCommand } from './commands/demo.js';
import { deploymentsCommand, logsCommand, releasesCommand, statusCommand } from './commands/inspect.js';
import { initCommand, validateCommand } from './commands/local.js';
import { loginCommand } from './commands/login.js';
import { rollbackCommand } from './commands/rollback.js';
import { rolloutCommands, rolloutStatusCommand } from './commands/rollout.js';
import { serveStaticCommand } from './commands/serve-static.js';
import { downCommand, runRouter, upCommand } from './commands/server.js';
import { webhooksCommands } from './commands/webhooks.js';
import { hooksCommands } from './commands/hooks.js';
import { previewsCommands, projectSettingsCommands } from './commands/previews.js';
import { verifyCommand } from './commands/verify.js';
import { sbomCommand } from './commands/sbom.js';
import { vulnsCommands } from './commands/vulns.js';
import { policyCommands } from './commands/policy.js';
import { tokensCommands } from './commands/tokens.js';
import { usersCommands } from './commands/users.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('maestro')
    .description('Build and deploy apps from a folder or a git push; roll out, watch and roll back.')
    .version(maestroVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        usageErrorShown = true;
        write(text);
      },
    });
  for (const add of [
    upCommand,
    downCommand,
    deployCommand,
    rollbackCommand,
    rolloutCommands,
    rolloutStatusCommand,
    statusCommand,
    deploymentsCommand,
    releasesCommand,
    logsCommand,
    buildsCommands,
    runnerCommand,
    validateCommand,
    initCommand,
    loginCommand,
    demoCommand,
    serveStaticCommand,
    webhooksCommands,
    hooksCommands,
    previewsCommands,
    projectSettingsCommands,
    verifyCommand,
    sbomCommand,
    vulnsCommands,
    policyCommands,
    tokensCommands,
    usersCommands,
  ]) {
    add(program);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Whether commander has printed the usage error it is about to throw (errors thrown by our own actions are not printed by it). */
let usageErrorShown = false;

/** Runs the CLI; resolves to the exit code: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<number> {
  usageErrorShown = false;
  const program = buildProgram();
  try {
    // The router process takes its own flags (see router/args.ts); it bypasses the CLI's parser.
    if (argv[2] === 'router') {
      await runRouter(argv.slice(3));
      return EXIT.ok;
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      if (error.exitCode === 0) return EXIT.ok;
      // An InvalidArgumentError thrown inside an action reaches here unprinted.
      if (!usageErrorShown) process.stderr.write(`${error.message.startsWith('error:') ? '' : 'error: '}${error.message}\n(run with --help for usage)\n`);
      return EXIT.usage;
    }
    if (isMaestroError(error)) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT.failure;
    }
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return EXIT.failure;
  }
}
