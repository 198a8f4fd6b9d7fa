import { Document, isScalar, type YAMLMap } from 'yaml';
import { detectionPhrase, evidenceText, oneLine, packageManagerPhrase } from './describe.js';
import { LOOKED_FOR } from './looked-for.js';
import { dnsLabel } from './names.js';
import type { DetectedService, Detection } from './types.js';

/** The manifest entry of one service, in the order a person reads it. */
export function serviceManifest(service: DetectedService): Record<string, unknown> {
  const entry: Record<string, unknown> = { path: service.path, runtime: service.runtime };
  const build: Record<string, string> = {};
  if (service.install) build.install = service.install;
  if (service.build) build.command = service.build;
  if (Object.keys(build).length > 0) entry.build = build;
  if (service.runtime === 'static') {
    entry.static = { dir: service.staticDir ?? '.' };
  } else {
    if (service.start) entry.start = service.start;
    entry.port = service.port;
  }
  if (service.health) entry.health = { path: service.health };
  if (service.env && Object.keys(service.env).length > 0) entry.env = { ...service.env };
  if (service.dependsOn && service.dependsOn.length > 0) entry.depends_on = [...service.dependsOn];
  return entry;
}

/** The manifest as plain data: what renderManifest writes, without the comments. */
export function manifestObject(detection: Detection): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const service of detection.services) services[service.name] = serviceManifest(service);
  return {
    project: dnsLabel(detection.project),
    services,
    environments: { production: { strategy: 'immediate' } },
  };
}

function headerLines(detection: Detection): string[] {
  const many = detection.services.length > 1;
  const lines = [
    ' maestro.yml, written by `maestro init` from what it found in this folder.',
    ' Commands run in each service path; every app must listen on the port in $PORT.',
    '',
  ];
  for (const service of detection.services) {
    lines.push(` ${detectionPhrase(service)}${many ? ` (service ${service.name})` : ''}`);
    const manager = packageManagerPhrase(service);
    if (manager) lines.push(`   ${manager}`);
    for (const evidence of service.evidence.slice(1)) {
      if (evidence !== service.packageManagerEvidence) lines.push(`   also ${evidenceText(evidence)}`);
    }
  }
  for (const skipped of detection.skipped ?? []) lines.push(` skipped ${oneLine(`${skipped.path}: ${skipped.reason}`)}`);
  for (const problem of detection.problems) lines.push(` problem: ${oneLine(problem)}`);
  return lines;
}

/** The `maestro.yml` for a detection, with a header saying what was detected and why. */
export function renderManifest(detection: Detection): string {
  if (detection.services.length === 0) {
    return renderUnknownManifest(detection.project, detection.problems.join('\n') || 'no app was found');
  }
  const doc = new Document(manifestObject(detection));
  doc.commentBefore = headerLines(detection).join('\n');
  const services = doc.get('services', true) as YAMLMap;
  for (const pair of services.items) {
    const key = pair.key;
    if (!isScalar(key)) continue;
    const service = detection.services.find((entry) => entry.name === key.value);
    if (service && service.notes.length > 0) key.commentBefore = service.notes.map((note) => ` ${oneLine(note)}`).join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}

/** Splits text into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A manifest to fill in by hand, for a folder where nothing was recognised. */
export function renderUnknownManifest(project: string, reason: string): string {
  const because = reason
    .split('\n')
    .map(oneLine)
    .filter(Boolean)
    .map((line) => `#   ${line}`);
  return [
    '# maestro.yml, written by `maestro init`.',
    '# Maestro could not tell how to run this folder:',
    ...(because.length > 0 ? because : ['#   no app was found']),
    ...wrap(`It looked for ${LOOKED_FOR}.`, 96).map((line) => `# ${line}`),
    '# Describe the app below (uncomment the service and adjust it), or add one of those files and run',
    '# `maestro init --force` again.',
    `project: ${dnsLabel(project)}`,
    '# services:',
    '#   web:',
    '#     path: .                      # folder of the service, relative to this file',
    '#     runtime: node                # node | python | go | ruby | static | custom',
    '#     build:',
    '#       install: npm ci            # installs dependencies',
    '#       command: npm run build     # builds the app; omit when there is nothing to build',
    '#     start: node server.js        # runs the app, which must listen on $PORT',
    '#     port: $PORT                  # or the fixed port the app listens on',
    '#     health:',
    '#       path: /                    # answers 2xx once the app is ready',
    '#     env:',
    '#       NODE_ENV: production',
    '#   # a static site has no start: give the folder to serve instead',
    '#   # site:',
    '#   #   path: .',
    '#   #   runtime: static',
    '#   #   build: { command: npm run build }',
    '#   #   static: { dir: dist }',
    'environments:',
    '  production:',
    '    strategy: immediate',
    '',
  ].join('\n');
}
