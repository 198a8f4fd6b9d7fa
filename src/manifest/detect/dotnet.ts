import path from 'node:path';
import { fileIn, readIn, type Scope } from './read.js';
import { healthRoute } from './source-scan.js';
import { joinPath } from './source-tree.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

/** Project files at the folder's top, then one level down (src/Api/Api.csproj is common). */
async function projectFiles(scope: Scope): Promise<string[]> {
  const found: string[] = [];
  const look = async (dir: string): Promise<void> => {
    for (const entry of await scope.tree.list(fileIn(scope, dir))) {
      if (entry.kind === 'file' && /\.(cs|fs)proj$/.test(entry.name)) found.push(joinPath(dir, entry.name));
    }
  };
  await look('.');
  if (found.length > 0) return found;
  for (const top of ['.', 'src']) {
    for (const entry of await scope.tree.list(fileIn(scope, top))) {
      if (entry.kind === 'dir' && !entry.name.startsWith('.') && !/^(test|tests)$/i.test(entry.name)) await look(joinPath(top, entry.name));
    }
  }
  return found.filter((file) => !/tests?\.(cs|fs)proj$/i.test(file));
}

export async function detectDotnet(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const projects = await projectFiles(scope);
  if (projects.length === 0) return undefined;
  for (const project of projects) {
    const text = (await readIn(scope, project)) ?? '';
    const sdk = /<Project\s+Sdk="([^"]+)"/.exec(text)?.[1];
    if (sdk !== 'Microsoft.NET.Sdk.Web' && sdk !== 'Microsoft.NET.Sdk.BlazorWebAssembly') continue;
    const assembly = /<AssemblyName>\s*([^<\s]+)\s*<\/AssemblyName>/.exec(text)?.[1] ?? path.posix.basename(project).replace(/\.(cs|fs)proj$/, '');
    const projectFile = fileIn(scope, project);
    const evidence: Evidence[] = [{ file: projectFile, reason: `Sdk "${sdk}"` }];
    const managerEvidence: Evidence = { file: projectFile, reason: 'project file' };
    const notes = projects.length > 1 ? [`also found ${projects.filter((other) => other !== project).join(', ')}; Maestro publishes ${project}`] : [];
    const base = {
      path: scope.dir,
      packageManager: 'dotnet' as const,
      packageManagerEvidence: managerEvidence,
      install: `dotnet restore ${project}`,
      build: `dotnet publish ${project} -c Release -o out`,
      port: '$PORT' as const,
      evidence: [...evidence, managerEvidence],
      notes,
    };
    if (sdk === 'Microsoft.NET.Sdk.BlazorWebAssembly') {
      return { service: { ...base, runtime: 'static', framework: 'Blazor WebAssembly', staticDir: 'out/wwwroot' } };
    }
    const program = (await readIn(scope, joinPath(path.posix.dirname(project), 'Program.cs'), 256 * 1024)) ?? '';
    const health = /MapHealthChecks\(\s*"([^"]+)"/.exec(program)?.[1] ?? healthRoute([program]);
    return {
      service: {
        ...base,
        runtime: 'custom',
        framework: 'ASP.NET Core',
        // --urls is read by the default host builder from the command line.
        start: `dotnet out/${assembly}.dll --urls http://0.0.0.0:$PORT`,
        ...(health ? { health } : {}),
      },
    };
  }
  return { hint: `${projects.map((project) => fileIn(scope, project)).join(', ')}: no ASP.NET Core (Microsoft.NET.Sdk.Web) project to serve` };
}
