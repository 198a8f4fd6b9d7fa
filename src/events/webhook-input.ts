import { randomBytes } from 'node:crypto';
import { MaestroError } from '../common/index.js';
import { LIFECYCLE_EVENT_TYPES, isLifecycleEventType } from './lifecycle.js';

/** Receivers must be plain http(s) URLs without credentials in them (those would end up in listings). */
export function checkWebhookUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MaestroError('validation_error', `webhook url ${JSON.stringify(value)} is not a URL: give a full address such as https://example.com/hooks/maestro`, {
      field: 'url',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MaestroError('validation_error', `webhook url must use http or https, not ${url.protocol.replace(/:$/, '')}`, { field: 'url' });
  }
  if (url.username || url.password) {
    throw new MaestroError('validation_error', 'webhook url must not carry a user name or password: receivers check the X-Maestro-Signature header instead', {
      field: 'url',
    });
  }
  return url.toString();
}

/** Event types a webhook subscribes to: known lifecycle types, or '*' alone for all. Duplicates are dropped. */
export function checkWebhookEvents(values: readonly string[]): string[] {
  const events = [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
  if (events.length === 0) return ['*'];
  if (events.includes('*')) return ['*'];
  const unknown = events.filter((v) => !isLifecycleEventType(v));
  if (unknown.length > 0) {
    throw new MaestroError('validation_error', `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: use '*' or any of ${LIFECYCLE_EVENT_TYPES.join(', ')}`, {
      field: 'events',
      unknown,
    });
  }
  return events;
}

/** A signing secret for a webhook that was created without one. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

export function checkWebhookSecret(value: string): string {
  if (value.length < 16 || value.length > 256) {
    throw new MaestroError('validation_error', 'webhook secret must be 16 to 256 characters long (or leave it out to have one generated)', { field: 'secret' });
  }
  return value;
}
