/** Lockfile hash notations turned into CycloneDX hashes (algorithm name and lowercase hex). */
import type { Hash, HashAlgorithm } from './model.js';

const ALGORITHMS: Record<string, HashAlgorithm> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
const HEX_LENGTHS: Record<HashAlgorithm, number> = { 'SHA-1': 40, 'SHA-256': 64, 'SHA-384': 96, 'SHA-512': 128 };

/**
 * Subresource-integrity strings (`sha512-<base64> sha1-<base64>`, npm's and pnpm's `integrity`):
 * each known algorithm whose digest has the right length; anything else is skipped.
 */
export function integrityHashes(integrity: unknown): Hash[] {
  if (typeof integrity !== 'string') return [];
  const hashes: Hash[] = [];
  for (const token of integrity.trim().split(/\s+/)) {
    const dash = token.indexOf('-');
    if (dash <= 0) continue;
    const alg = ALGORITHMS[token.slice(0, dash).toLowerCase()];
    // SRI allows `?options` after the digest.
    const base64 = token.slice(dash + 1).split('?')[0]!;
    if (!alg || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const content = Buffer.from(base64, 'base64').toString('hex');
    if (content.length === HEX_LENGTHS[alg]) hashes.push({ alg, content });
  }
  return uniqueHashes(hashes);
}

/** `sha256:<hex>` (pip, poetry, uv) or a bare hex digest of the given algorithm. */
export function hexHash(text: unknown, defaultAlgorithm?: HashAlgorithm): Hash | undefined {
  if (typeof text !== 'string') return undefined;
  const colon = text.indexOf(':');
  const alg = colon > 0 ? ALGORITHMS[text.slice(0, colon).toLowerCase()] : defaultAlgorithm;
  const content = (colon > 0 ? text.slice(colon + 1) : text).trim().toLowerCase();
  if (!alg || content.length !== HEX_LENGTHS[alg] || !/^[0-9a-f]+$/.test(content)) return undefined;
  return { alg, content };
}

/** Go's `h1:<base64>`: SHA-256 over the module's file list (the dirhash), as go.sum records it. */
export function goH1Hash(text: string): Hash | undefined {
  if (!text.startsWith('h1:')) return undefined;
  const base64 = text.slice(3);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const content = Buffer.from(base64, 'base64').toString('hex');
  return content.length === 64 ? { alg: 'SHA-256', content } : undefined;
}

export function uniqueHashes(hashes: readonly Hash[]): Hash[] {
  const seen = new Set<string>();
  return hashes.filter((hash) => {
    const id = `${hash.alg}:${hash.content}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
