/**
 * The pre-receive hook Maestro installs in every project's repository. It is self-contained plain
 * JavaScript (only `node:` modules, loaded with import() so it runs whether Node reads the file as
 * CommonJS or as an ES module), run by the Node that runs Maestro. It forwards the push to Maestro
 * (see hook-protocol.ts) and copies Maestro's answer to stderr line by line as it arrives, which git
 * shows the pusher as `remote:` lines; its exit status accepts (0) or refuses (1) the push.
 */
import { MaestroError } from '../common/index.js';

const HOOK_BODY = String.raw`// Maestro's pre-receive hook: written by Maestro, replaced whenever Maestro changes it; do not edit.
(async () => {
  const http = await import('node:http');
  const path = await import('node:path');
  const say = (line) => process.stderr.write(line + '\n');
  const url = process.env.MAESTRO_GIT_HOOK_URL;
  const token = process.env.MAESTRO_GIT_PUSH_TOKEN;
  if (!url || !token) {
    say('maestro: this repository takes pushes only through Maestro (git push to http://<maestro>/git/<project>.git)');
    process.exit(1);
  }

  let updates = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) updates += chunk;
  const pushOptions = [];
  const count = Number(process.env.GIT_PUSH_OPTION_COUNT || 0);
  for (let i = 0; i < count; i += 1) pushOptions.push(process.env['GIT_PUSH_OPTION_' + i] || '');
  // Git may give these relative to the repository, our working folder; Maestro reads them from elsewhere.
  const objects = {};
  for (const name of ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH']) {
    const value = process.env[name];
    if (!value) continue;
    objects[name] = value
      .split(path.delimiter)
      .map((part) => (part === '' || part.startsWith('"') || path.isAbsolute(part) ? part : path.resolve(part)))
      .join(path.delimiter);
  }

  const body = JSON.stringify({ updates, pushOptions, objects });
  const verdict = await new Promise((resolve) => {
    const refuse = (why) => {
      say('maestro: ' + why + '; the push is refused');
      resolve('refuse');
    };
    const request = http.request(
      url,
      { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const answered = response.statusCode === 200;
        let pending = '';
        let verdict;
        const line = (text) => {
          if (!answered) {
            if (text !== '') say('maestro: ' + text);
          } else if (text.startsWith('say ')) say(text.slice(4));
          else if (text === 'accept' || text === 'refuse') verdict = text;
        };
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          pending += chunk;
          for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
            line(pending.slice(0, end));
            pending = pending.slice(end + 1);
          }
        });
        response.on('end', () => {
          if (pending !== '') line(pending);
          if (!answered) refuse('Maestro answered ' + response.statusCode);
          else if (verdict) resolve(verdict);
          else refuse('the answer from Maestro ended before its verdict');
        });
        response.on('error', (error) => refuse('the answer from Maestro broke off (' + error.message + ')'));
      },
    );
    request.on('error', (error) => refuse('cannot reach Maestro at ' + url + ' (' + error.message + ')'));
    request.end(body);
  });
  process.exit(verdict === 'accept' ? 0 : 1);
})();
`;

/** The hook's file content, run by `nodePath` (Maestro passes process.execPath). */
export function preReceiveHookScript(nodePath: string): string {
  // A shebang ends at the first space and the kernel reads only its first 255 bytes or so.
  if (!nodePath.startsWith('/') || /\s/.test(nodePath) || nodePath.length > 200) {
    throw new MaestroError(
      'unavailable',
      `git hooks need Node at an absolute path without spaces of at most 200 characters, but Node runs from ${JSON.stringify(nodePath)}; install Node elsewhere or link it from such a path`,
    );
  }
  return `#!${nodePath}\n${HOOK_BODY}`;
}
