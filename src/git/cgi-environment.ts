/** The CGI environment `git http-backend` runs in for one request (RFC 3875 names, plus git's own). */
import type { IncomingHttpHeaders } from 'node:http';
import { gitEnvironment } from './run-git.js';

export interface CgiRequest {
  method: string;
  /** The request's path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
}

export function httpBackendEnvironment(input: { projectRoot: string; pathInfo: string; remoteUser: string; request: CgiRequest }): Record<string, string> {
  const { request } = input;
  const query = request.url.indexOf('?');
  const env = gitEnvironment({
    GIT_PROJECT_ROOT: input.projectRoot,
    // Every repository under the root is served; access was decided before http-backend runs.
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: input.pathInfo,
    REQUEST_METHOD: request.method,
    QUERY_STRING: query >= 0 ? request.url.slice(query + 1) : '',
    REMOTE_USER: input.remoteUser,
    REMOTE_ADDR: request.remoteAddress,
  });
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const optional: Array<[string, string | undefined]> = [
    ['CONTENT_TYPE', header('content-type')],
    // Absent for a chunked body: http-backend then reads to the end.
    ['CONTENT_LENGTH', header('content-length')],
    // Git gzips larger request bodies; http-backend inflates them itself.
    ['HTTP_CONTENT_ENCODING', header('content-encoding')],
    // Protocol v2 for fetches.
    ['GIT_PROTOCOL', header('git-protocol')],
  ];
  for (const [name, value] of optional) if (value) env[name] = value;
  return env;
}
