/**
 * The small pages the router answers itself with (no route, nothing healthy, upstream failures), as HTML
 * for browsers and JSON for clients that ask for it.
 */

export type RouterErrorCode = 'no_route' | 'unavailable' | 'bad_gateway' | 'gateway_timeout';

export interface RouterErrorPage {
  status: number;
  code: RouterErrorCode;
  title: string;
  message: string;
  hint?: string;
}

export const HOST_FORMAT = '<service>.<environment>.<project>.localhost';

export function noRoutePage(host: string | undefined): RouterErrorPage {
  return {
    status: 404,
    code: 'no_route',
    title: 'No service here',
    message: host ? `No service is deployed at ${host}.` : 'The request has no Host header, so no service can be chosen.',
    hint: `Hosts are formed as \`${HOST_FORMAT}\`, e.g. \`web.production.shop.localhost\`; check the service, environment and project names.`,
  };
}

export function unavailablePage(host: string, reason: string | undefined): RouterErrorPage {
  return {
    status: 503,
    code: 'unavailable',
    title: 'Service unavailable',
    message: `${host} exists, but nothing healthy is serving it: ${reason ?? 'no revision is running'}.`,
    hint: 'Traffic resumes as soon as a healthy revision is routed here; try again in a moment.',
  };
}

export function badGatewayPage(host: string, revision: string, cause: string): RouterErrorPage {
  return {
    status: 502,
    code: 'bad_gateway',
    title: 'Bad gateway',
    message: `Revision ${revision} of ${host} could not be reached (${cause}).`,
    hint: "The app's process may have crashed or not be listening on its PORT; check its logs.",
  };
}

export function gatewayTimeoutPage(host: string, revision: string, timeoutMs: number): RouterErrorPage {
  return {
    status: 504,
    code: 'gateway_timeout',
    title: 'Gateway timeout',
    message: `Revision ${revision} of ${host} did not answer within ${Math.round(timeoutMs / 1000)} s.`,
    hint: 'The app is too slow or stuck on this request; check its logs.',
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Whether the client prefers JSON (API clients, curl with -H 'Accept: application/json'). */
export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/(?:[\w.+-]*\+)?json\b/i.test(accept);
}

export function renderPage(page: RouterErrorPage, json: boolean): { contentType: string; body: string } {
  if (json) {
    return {
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify({ error: { code: page.code, message: page.message, ...(page.hint ? { hint: page.hint } : {}) } }),
    };
  }
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${page.status} ${escapeHtml(page.title)} · Maestro</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .25rem}small{color:#666}</style></head>
<body><h1>${page.status} · ${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>
${page.hint ? `<p>${escapeHtml(page.hint).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>` : ''}
<small>Maestro router</small></body></html>
`;
  return { contentType: 'text/html; charset=utf-8', body };
}
