import type { ApiClient } from './api-client.js';

export interface StreamEvent {
  id?: number;
  event: string;
  data: unknown;
}

/** Reads a server-sent event stream into events. */
export async function* readEvents(client: ApiClient, path: string): AsyncGenerator<StreamEvent> {
  let current: { id?: number; event?: string; data: string[] } = { data: [] };
  for await (const raw of client.lines(path)) {
    const line = raw.replace(/\r$/, '');
    if (line === '') {
      if (current.data.length > 0) {
        yield { ...(current.id === undefined ? {} : { id: current.id }), event: current.event ?? 'message', data: JSON.parse(current.data.join('\n')) };
      }
      current = { data: [] };
    } else if (line.startsWith(':')) {
      continue;
    } else if (line.startsWith('id:')) {
      current.id = Number(line.slice(3).trim());
    } else if (line.startsWith('event:')) {
      current.event = line.slice(6).trim();
    } else if (line.startsWith('data:')) {
      current.data.push(line.slice(5).trimStart());
    }
  }
}
