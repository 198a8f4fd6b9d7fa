import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';

const FORMATS = ['cyclonedx', 'spdx'] as const;

export function sbomCommand(program: Command): void {
  program
    .command('sbom')
    .description("A build's SBOM: the resolved dependencies of its service, as CycloneDX 1.6 or SPDX 2.3 JSON")
    .argument('<build>', 'the build id (see `maestro builds`)')
    .option('--format <format>', 'cyclonedx or spdx', 'cyclonedx')
    .option('-o, --output <file>', 'write the document to this file instead of printing it')
    .addHelpText('after', '\nExamples:\n  maestro sbom bld_k3q7x2m4ba9z\n  maestro sbom bld_k3q7x2m4ba9z --format spdx --output web.spdx.json\n')
    .action(async (build: string, options: { format: string; output?: string }) => {
      if (!(FORMATS as readonly string[]).includes(options.format)) {
        throw new InvalidArgumentError(`--format takes cyclonedx or spdx, got "${options.format}"`);
      }
      const client = new ApiClient(resolveCredentials());
      const document = await client.call<unknown>('GET', `/v1/builds/${encodeURIComponent(build)}/sbom?format=${options.format}`);
      const text = `${JSON.stringify(document, null, 2)}\n`;
      if (options.output) {
        await writeFile(options.output, text);
        process.stderr.write(`wrote the ${options.format === 'spdx' ? 'SPDX' : 'CycloneDX'} SBOM of ${build} to ${options.output}\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
