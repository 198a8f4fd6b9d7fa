/** Is a delivery really from the provider? Both checks compare in constant time. */
import { verifyWebhookSignature } from '../events/index.js';
import { sameSecret } from '../identity/index.js';

/** GitHub: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>`, the same scheme Maestro signs its own webhooks with. */
export function verifyGitHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  return verifyWebhookSignature(secret, body, header);
}

/** GitLab: `X-Gitlab-Token` is the secret itself. */
export function verifyGitLabToken(secret: string, header: string | undefined): boolean {
  return header !== undefined && sameSecret(secret, header);
}
