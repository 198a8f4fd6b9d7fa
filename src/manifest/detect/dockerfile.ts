import { fileIn, firstFile, readIn, shellQuote, type Scope } from './read.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

export interface DockerfileFacts {
  /** Base image of the final stage. */
  from?: string;
  entrypoint?: string[] | string;
  cmd?: string[] | string;
  expose: number[];
  /** The final stage mentions PORT (ENV PORT=..., $PORT, ${PORT}): the app reads it. */
  usesPort: boolean;
  runSteps: number;
  /** Source text of CMD/ENTRYPOINT as written, for evidence. */
  cmdText?: string;
}

/** Instructions of the final stage, with line continuations joined and comments dropped. */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());
  const all = logical.map((line) => {
    const match = /^(\w+)\s*(.*)$/.exec(line);
    return { keyword: (match?.[1] ?? '').toUpperCase(), args: match?.[2] ?? '' };
  });
  const lastFrom = all.map((instruction) => instruction.keyword).lastIndexOf('FROM');
  return lastFrom >= 0 ? all.slice(lastFrom) : all;
}

/** Exec form (`["node", "server.js"]`) as a list, shell form as a string. */
function commandForm(args: string): string[] | string {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')) return parsed as string[];
    } catch {
      // Not valid JSON: Docker runs it as shell form too.
    }
  }
  return trimmed;
}

export function parseDockerfile(text: string): DockerfileFacts {
  const facts: DockerfileFacts = { expose: [], usesPort: false, runSteps: 0 };
  const texts: string[] = [];
  for (const { keyword, args } of instructions(text)) {
    switch (keyword) {
      case 'FROM':
        facts.from = args.split(/\s+/)[0];
        break;
      case 'CMD':
        facts.cmd = commandForm(args);
        texts.push(`CMD ${args}`);
        break;
      case 'ENTRYPOINT':
        facts.entrypoint = commandForm(args);
        texts.push(`ENTRYPOINT ${args}`);
        break;
      case 'EXPOSE':
        for (const port of args.split(/\s+/)) {
          const number = Number(/^(\d+)/.exec(port)?.[1]);
          if (number >= 1 && number <= 65535) facts.expose.push(number);
        }
        break;
      case 'RUN':
        facts.runSteps += 1;
        break;
    }
    if (/\$\{?PORT\b/.test(args) || (keyword === 'ENV' && /^PORT\b/.test(args)) || (keyword === 'ARG' && /^PORT\b/.test(args))) {
      facts.usesPort = true;
    }
  }
  if (texts.length > 0) facts.cmdText = texts.join(' + ');
  return facts;
}

/** `["sh", "-c", "node server.js"]` is just `node server.js`; other lists are shell-quoted. */
function asShell(form: string[] | string): string {
  if (typeof form === 'string') return form;
  if (form.length === 3 && /^(?:\/bin\/)?(?:ba)?sh$/.test(form[0]!) && form[1] === '-c') return form[2]!;
  return form.map(shellQuote).join(' ');
}

/** The command the container runs: ENTRYPOINT, with CMD as its arguments unless it is shell form. */
export function dockerStart(facts: DockerfileFacts): string | undefined {
  const entry = facts.entrypoint;
  const cmd = facts.cmd;
  if (entry !== undefined && (typeof entry === 'string' || entry.length > 0)) {
    if (typeof entry === 'string' || cmd === undefined) return asShell(entry);
    return `${asShell(entry)} ${typeof cmd === 'string' ? cmd : cmd.map(shellQuote).join(' ')}`.trim();
  }
  if (cmd === undefined) return undefined;
  const start = asShell(cmd);
  return start === '' ? undefined : start;
}

export async function detectDockerfile(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const name = await firstFile(scope, ['Dockerfile', 'Containerfile', 'dockerfile']);
  if (!name) return undefined;
  const text = await readIn(scope, name);
  if (text === undefined) return undefined;
  const file = fileIn(scope, name);
  const facts = parseDockerfile(text);
  const start = dockerStart(facts);
  if (!start) {
    return { hint: `${file} has no CMD or ENTRYPOINT in its final stage${facts.from ? ` (it relies on ${facts.from}'s)` : ''}; add one so Maestro knows what to run` };
  }
  const evidence: Evidence[] = [{ file, reason: facts.cmdText ?? 'CMD' }];
  const notes: string[] = [];
  let port: number | '$PORT' = '$PORT';
  if (!facts.usesPort) {
    if (facts.expose.length > 0) {
      port = facts.expose[0]!;
      evidence.push({ file, reason: `EXPOSE ${port}` });
      notes.push(`the app listens on ${port} (EXPOSE) and does not read PORT; Maestro will route to that fixed port`);
    } else {
      notes.push(`${file} neither reads PORT nor EXPOSEs a port; make the app listen on $PORT`);
    }
  }
  if (facts.runSteps > 0) {
    notes.push(`Maestro runs the start command itself: the ${facts.runSteps} RUN step(s) of ${file} were not translated; put what they do under build`);
  }
  return {
    service: {
      path: scope.dir,
      runtime: 'custom',
      framework: 'Dockerfile',
      start,
      port,
      evidence,
      notes,
    },
  };
}
