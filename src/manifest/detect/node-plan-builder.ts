import { dependencyReason } from './node-package.js';
import type { NodeDecision, NodeFacts, NodePlan } from './node-facts.js';
import { fixedPortNote, portUse } from './source-scan.js';
import { joinPath } from './source-tree.js';
import type { Evidence, ManifestRuntime } from './types.js';

/** Collects evidence and notes while a plan is decided, and assembles it. */
export class PlanBuilder {
  readonly notes: string[] = [];
  readonly evidence: Evidence[] = [];
  constructor(private readonly facts: NodeFacts) {}

  get pkgFile(): string {
    return joinPath(this.facts.dir, 'package.json');
  }

  file(name: string): string {
    return joinPath(this.facts.dir, name);
  }

  dep(name: string): Evidence | undefined {
    const reason = dependencyReason(this.facts.pkg, name);
    return reason ? { file: this.pkgFile, reason } : undefined;
  }

  /** The build command: the workspace tool's, the package's `build` script, or the framework CLI. */
  build(fallbackBin?: string, fallbackArgs?: string): string | undefined {
    const { pkg, commands, workspaceBuild } = this.facts;
    if (pkg.scripts.build !== undefined) return workspaceBuild ?? commands.run('build');
    return fallbackBin ? commands.exec(fallbackBin, fallbackArgs) : undefined;
  }

  plan(framework: string, fields: Omit<NodePlan, 'framework' | 'evidence' | 'notes' | 'port' | 'runtime'> & {
    port?: NodePlan['port'];
    runtime?: ManifestRuntime;
  }): NodeDecision {
    const runtime = fields.runtime ?? (fields.staticDir !== undefined && !fields.start ? 'static' : 'node');
    const env = runtime === 'node' ? { NODE_ENV: 'production', ...fields.env } : fields.env;
    return {
      kind: 'app',
      plan: {
        ...fields,
        framework,
        runtime,
        port: fields.port ?? '$PORT',
        evidence: this.evidence,
        notes: this.notes,
        ...(env ? { env } : {}),
      },
    };
  }
}

/** $PORT, or the port the sources pin (with a note saying so). */
export function portFromSources(b: PlanBuilder, file: string, sources: string[]): NodePlan['port'] {
  const use = portUse(sources);
  if (use.kind !== 'fixed') return '$PORT';
  b.notes.push(fixedPortNote(b.file(file), use.port));
  return use.port;
}
