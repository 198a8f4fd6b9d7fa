import type { Command } from 'commander';
import { formatScan, type AdvisoriesStatus, type VulnerabilityScanResult } from '../../supply-chain/vulns/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput } from '../output.js';

export function vulnsCommands(program: Command): void {
  program
    .command('vulns')
    .description("A build's vulnerability scan: each advisory affecting its packages, with fixed versions and severity")
    .argument('<build>', 'the build id (see `maestro builds`)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro vulns bld_k3q7x2m4ba9z\n  maestro vulns bld_k3q7x2m4ba9z --json | jq .counts\n')
    .action(async (build: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const scan = await new ApiClient(resolveCredentials()).call<VulnerabilityScanResult & { build: string }>(
        'GET',
        `/v1/builds/${encodeURIComponent(build)}/vulnerabilities`,
      );
      out.result(scan, () => [`build ${scan.build}`, ...formatScan(scan)]);
    });

  program
    .command('advisories')
    .description('The OSV advisories vulnerability scans use')
    .command('reload')
    .description('Read them again now (after replacing files in place; added or removed files are noticed by themselves)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro advisories reload\n  maestro advisories reload --json | jq .advisories.digest\n')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const { advisories } = await new ApiClient(resolveCredentials()).call<{ advisories: AdvisoriesStatus }>('POST', '/v1/advisories/reload');
      out.result({ advisories }, () =>
        advisories.status === 'ok'
          ? [
              `${advisories.advisories} advisories from ${advisories.path} (npm ${advisories.perEcosystem?.npm}, PyPI ${advisories.perEcosystem?.PyPI}, Go ${advisories.perEcosystem?.Go})`,
              `digest ${advisories.digest}`,
              ...advisories.problems.map((problem) => `problem: ${problem}`),
            ]
          : `advisories unavailable: ${advisories.reason}`,
      );
    });
}
