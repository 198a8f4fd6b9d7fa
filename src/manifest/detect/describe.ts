import type { DetectedService, Detection, Evidence } from './types.js';

/** Text that goes on one line of a comment or a terminal, whatever a file put in it. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

export function evidenceText(evidence: Evidence): string {
  return oneLine(`${evidence.file} ${evidence.reason}`);
}

/** `pnpm from packageManager field "pnpm@9.1.0"`, `pnpm from pnpm-lock.yaml`, `bundler from Gemfile`. */
export function packageManagerPhrase(service: DetectedService): string | undefined {
  const manager = service.packageManager;
  if (!manager) return undefined;
  const evidence = service.packageManagerEvidence;
  if (!evidence) return `${manager}, no lockfile`;
  if (evidence.reason === 'lockfile') return oneLine(`${manager} from ${evidence.file}`);
  if (evidence.file.endsWith('package.json')) return oneLine(`${manager} from ${evidence.reason}`);
  return oneLine(`${manager} from ${evidence.file}`);
}

/** `detected Next.js from package.json dependency "next"` */
export function detectionPhrase(service: DetectedService): string {
  const first = service.evidence[0];
  return oneLine(first ? `detected ${service.framework} from ${evidenceText(first)}` : `detected ${service.framework}`);
}

/** Lines for a person: what was found for each service and why, then what to check. */
export function describeDetection(detection: Detection): string[] {
  const lines: string[] = [];
  for (const service of detection.services) {
    const manager = packageManagerPhrase(service);
    lines.push(`${service.name}: ${detectionPhrase(service)}${manager ? ` (${manager})` : ''}`);
    for (const note of service.notes) lines.push(`  - ${oneLine(note)}`);
  }
  for (const skipped of detection.skipped ?? []) lines.push(oneLine(`skipped ${skipped.path}: ${skipped.reason}`));
  if (detection.services.length > 0) for (const problem of detection.problems) lines.push(oneLine(`problem: ${problem}`));
  return lines;
}
