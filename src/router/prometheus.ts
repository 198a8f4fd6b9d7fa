import type { RevisionStats, UnroutedReason } from './metrics.js';

/** Prometheus text exposition (format 0.0.4) of the router's metrics. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return `{${parts.join(',')}}`;
}

function formatLe(boundMs: number): string {
  return String(boundMs / 1000);
}

export function renderPrometheus(input: {
  revisions: RevisionStats[];
  unrouted: Record<UnroutedReason, number>;
  tableVersion: number;
  routes: number;
}): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const base = (stats: RevisionStats): Record<string, string> => ({
    project: stats.project,
    service: stats.service,
    environment: stats.environment,
    revision: stats.revision,
  });

  family('maestro_router_requests_total', 'counter', 'HTTP requests answered for a revision, by status class.');
  for (const stats of input.revisions) {
    for (const [codeClass, count] of Object.entries(stats.byClass)) {
      lines.push(`maestro_router_requests_total${labelText({ ...base(stats), code_class: codeClass })} ${count}`);
    }
  }

  family('maestro_router_request_duration_seconds', 'histogram', 'Time from request arrival to the end of the response.');
  for (const stats of input.revisions) {
    const { bucketsMs, cumulative, sumMs, count } = stats.latency;
    bucketsMs.forEach((boundMs, index) => {
      lines.push(
        `maestro_router_request_duration_seconds_bucket${labelText({ ...base(stats), le: formatLe(boundMs) })} ${cumulative[index]}`,
      );
    });
    lines.push(`maestro_router_request_duration_seconds_bucket${labelText({ ...base(stats), le: '+Inf' })} ${count}`);
    lines.push(`maestro_router_request_duration_seconds_sum${labelText(base(stats))} ${sumMs / 1000}`);
    lines.push(`maestro_router_request_duration_seconds_count${labelText(base(stats))} ${count}`);
  }

  family('maestro_router_requests_in_flight', 'gauge', 'HTTP requests sent to a revision and not yet answered.');
  for (const stats of input.revisions) lines.push(`maestro_router_requests_in_flight${labelText(base(stats))} ${stats.inFlight}`);

  family('maestro_router_websockets_total', 'counter', 'WebSocket connections switched through to a revision.');
  for (const stats of input.revisions) lines.push(`maestro_router_websockets_total${labelText(base(stats))} ${stats.websocketsTotal}`);

  family('maestro_router_websockets_open', 'gauge', 'WebSocket connections currently open to a revision.');
  for (const stats of input.revisions) lines.push(`maestro_router_websockets_open${labelText(base(stats))} ${stats.websocketsOpen}`);

  family('maestro_router_unrouted_requests_total', 'counter', 'Requests for hosts with no route (no_route) or no healthy revision (unavailable).');
  for (const [reason, count] of Object.entries(input.unrouted)) {
    lines.push(`maestro_router_unrouted_requests_total${labelText({ reason })} ${count}`);
  }

  family('maestro_router_route_table_version', 'gauge', 'Version of the route table being served.');
  lines.push(`maestro_router_route_table_version ${input.tableVersion}`);
  family('maestro_router_routes', 'gauge', 'Hosts in the route table being served.');
  lines.push(`maestro_router_routes ${input.routes}`);

  // The conventional name, so off-the-shelf dashboards work without knowing Maestro.
  family('http_requests_total', 'counter', 'HTTP requests answered, by revision and status code.');
  for (const stats of input.revisions) {
    for (const [code, count] of Object.entries(stats.byStatus)) {
      lines.push(`http_requests_total${labelText({ ...base(stats), code })} ${count}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
