import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { MaestroError } from '../../common/index.js';
import { formatProblem, validateFile } from '../../manifest/index.js';
import { createOutput } from '../output.js';
import { describeDetection, detect, renderManifest, renderUnknownManifest } from '../../manifest/detect/index.js';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('Check a maestro.yml and print every problem as file:line:col: message')
    .argument('[file]', 'the manifest', 'maestro.yml')
    .option('--json', 'print the problems as JSON')
    .addHelpText('after', '\nExamples:\n  maestro validate\n  maestro validate apps/web/maestro.yml\n')
    .action(async (file: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const { problems, warnings } = await validateFile(file);
      out.result({ file, valid: problems.length === 0, problems, warnings }, () => [
        ...warnings.map((w) => `warning: ${formatProblem(w)}`),
        ...problems.map(formatProblem),
        problems.length === 0 ? `${file} is valid` : `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file}`,
      ]);
      process.exitCode = problems.length === 0 ? 0 : 1;
    });
}

export function initCommand(program: Command): void {
  program
    .command('init')
    .description('Detect the app in a folder and write a maestro.yml that deploys it as is')
    .argument('[dir]', 'the app folder', '.')
    .option('--print', 'print the manifest instead of writing it')
    .option('--force', 'overwrite an existing maestro.yml')
    .addHelpText('after', '\nExamples:\n  maestro init\n  maestro init apps/web --print\n')
    .action(async (dir: string, options: { print?: boolean; force?: boolean }) => {
      const folder = resolve(dir);
      if (!existsSync(folder)) throw new MaestroError('not_found', `${folder} does not exist`);
      const target = join(folder, 'maestro.yml');
      if (!options.print && existsSync(target) && !options.force) {
        throw new MaestroError('conflict', `${target} already exists; pass --force to overwrite it or --print to see what init would write`);
      }
      const detection = await detect(folder);
      const placed = detection.services.length > 0;
      const manifest = placed
        ? renderManifest(detection)
        : renderUnknownManifest(detection.project, detection.problems.join('; ') || 'no known app layout was found');
      for (const line of describeDetection(detection)) process.stderr.write(`${line}\n`);
      if (!placed) {
        process.stderr.write(`Maestro could not tell how to run ${folder}: ${detection.problems.join('; ') || 'nothing it knows was found'}.\n`);
      }
      if (options.print) {
        process.stdout.write(manifest);
      } else {
        await writeFile(target, manifest);
        process.stderr.write(placed ? `wrote ${target}; deploy it with \`maestro deploy ${dir}\`\n` : `wrote a commented ${target} to fill in\n`);
      }
      process.exitCode = placed ? 0 : 1;
    });
}
