/**
 * The tiny protocol between Maestro's pre-receive hook and Maestro, kept in one place (the hook's
 * JavaScript in pre-receive-hook.ts spells the same words).
 *
 * The hook POSTs JSON `{updates, pushOptions, objects}` to MAESTRO_GIT_HOOK_URL with
 * `Authorization: Bearer <MAESTRO_GIT_PUSH_TOKEN>`. A 200 answer is text, one message per line, streamed:
 * `say <text>` is a line for the pusher (git shows it as `remote: <text>`), and the last line is the
 * verdict, `accept` or `refuse`. Any other status, or an answer that ends without a verdict, refuses.
 */
import { z } from 'zod';

export const HOOK_URL_ENV = 'MAESTRO_GIT_HOOK_URL';
export const PUSH_TOKEN_ENV = 'MAESTRO_GIT_PUSH_TOKEN';
/** Where a push's quarantined objects are; the hook forwards these from git's environment. */
export const OBJECT_ENV_NAMES = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'] as const;

export const hookRequestSchema = z.object({
  /** The hook's stdin as git gave it: `<old> <new> <ref>` lines. */
  updates: z.string().max(10 * 1024 * 1024),
  pushOptions: z.array(z.string().max(4096)).max(100),
  objects: z.partialRecord(z.enum(OBJECT_ENV_NAMES), z.string().max(64 * 1024)),
});

export type HookRequest = z.infer<typeof hookRequestSchema>;

/** One `say` line per line of `text` (a message may hold several; a line never spans two). */
export function sayLines(text: string): string {
  return text
    .split(/\r\n|\n|\r/)
    .map((line) => `say ${line}\n`)
    .join('');
}

export function verdictLine(accept: boolean): string {
  return accept ? 'accept\n' : 'refuse\n';
}
