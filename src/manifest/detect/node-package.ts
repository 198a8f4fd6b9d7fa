import { isRecord, stringList, stringMap } from './read.js';

/** The parts of package.json detection reads, with every field safely typed. */
export interface PackageJson {
  name?: string;
  main?: string;
  packageManager?: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: Record<string, string>;
  /** Workspace globs from `workspaces: [...]` or `workspaces: {packages: [...]}`. */
  workspaces: string[];
}

/** The empty package, for a monorepo whose root has no package.json (a bare pnpm-workspace.yaml). */
export const EMPTY_PACKAGE: PackageJson = { scripts: {}, dependencies: {}, devDependencies: {}, engines: {}, workspaces: [] };

export function toPackageJson(value: Record<string, unknown>): PackageJson {
  const workspacesField = value.workspaces;
  const workspaces = Array.isArray(workspacesField)
    ? stringList(workspacesField)
    : isRecord(workspacesField)
      ? stringList(workspacesField.packages)
      : [];
  return {
    name: typeof value.name === 'string' ? value.name : undefined,
    main: typeof value.main === 'string' ? value.main : undefined,
    packageManager: typeof value.packageManager === 'string' ? value.packageManager : undefined,
    scripts: stringMap(value.scripts),
    dependencies: stringMap(value.dependencies),
    devDependencies: stringMap(value.devDependencies),
    engines: stringMap(value.engines),
    workspaces,
  };
}

/** Where a dependency is declared, as evidence text: `dependency "next"` or `devDependency "vite"`. */
export function dependencyReason(pkg: PackageJson, name: string): string | undefined {
  if (name in pkg.dependencies) return `dependency "${name}"`;
  if (name in pkg.devDependencies) return `devDependency "${name}"`;
  return undefined;
}

export function hasDependency(pkg: PackageJson, name: string): boolean {
  return name in pkg.dependencies || name in pkg.devDependencies;
}

export function dependencyCount(pkg: PackageJson): number {
  return Object.keys(pkg.dependencies).length + Object.keys(pkg.devDependencies).length;
}
