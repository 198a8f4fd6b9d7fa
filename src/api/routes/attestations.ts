import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { isDigest } from '../../build/index.js';
import type { ApiContext } from '../context.js';

const KeyView = z.object({
  id: z.string().describe('sha256 of the DER public key, hex: the key hint in the bundles it signed'),
  algorithm: z.string(),
  publicKeyPem: z.string(),
  createdAt: z.string(),
  retiredAt: z.string().nullable(),
  active: z.boolean(),
});

const AttestationView = z.object({
  id: z.string(),
  artifactDigest: z.string(),
  buildId: z.string().nullable(),
  predicateType: z.string(),
  keyId: z.string(),
  createdAt: z.string(),
  bundle: z.unknown().describe('a Sigstore bundle v0.3 (JSON): verify with `maestro verify` or `cosign verify-blob-attestation`'),
});

const DigestParams = z.object({ digest: z.string() });

function requireDigest(digest: string): string {
  if (!isDigest(digest)) throw new MaestroError('validation_error', `"${digest.slice(0, 80)}" is not a sha256 digest (64 lowercase hex characters)`);
  return digest;
}

/** The server's public keys, artifacts' signed evidence, and artifacts' bytes: what `maestro verify` needs. */
export function attestationRoutes(context: ApiContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/keys',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: "The server's signing keys (public halves, PEM): the active one signs new attestations; retired ones still verify what they signed",
          tags: ['attestations'],
          response: { 200: z.object({ keys: z.array(KeyView) }) },
        },
      },
      async () => {
        const keys = await context.store.signingKeys.list();
        return {
          keys: keys.map((key) => ({
            id: key.id,
            algorithm: key.algorithm,
            publicKeyPem: key.publicKeyPem,
            createdAt: key.createdAt.toISOString(),
            retiredAt: key.retiredAt?.toISOString() ?? null,
            active: key.retiredAt === undefined,
          })),
        };
      },
    );

    app.get(
      '/v1/artifacts/:digest/attestations',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: "An artifact's signed attestations (SLSA provenance, SBOM) as Sigstore bundles; an empty list when it has none",
          tags: ['attestations'],
          params: DigestParams,
          querystring: z.object({ predicateType: z.string().optional() }),
          response: { 200: z.object({ attestations: z.array(AttestationView) }) },
        },
      },
      async (request) => {
        const digest = requireDigest(request.params.digest);
        const all = await context.store.attestations.forArtifact(digest);
        const wanted = request.query.predicateType;
        return {
          attestations: all
            .filter((attestation) => wanted === undefined || attestation.predicateType === wanted)
            .map((attestation) => ({
              id: attestation.id,
              artifactDigest: attestation.artifactDigest,
              buildId: attestation.buildId ?? null,
              predicateType: attestation.predicateType,
              keyId: attestation.keyId,
              createdAt: attestation.createdAt.toISOString(),
              bundle: attestation.bundle,
            })),
        };
      },
    );

    app.get(
      '/v1/artifacts/:digest',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: "Download a stored build artifact (gzip tar), e.g. to verify it against its attestations; HEAD says whether the server has it",
          tags: ['artifacts'],
          params: DigestParams,
        },
      },
      async (request, reply) => {
        const digest = requireDigest(request.params.digest);
        if (!(await context.plane.artifacts.has(digest))) {
          throw new MaestroError('not_found', `no artifact sha256:${digest} on this server; list them with \`maestro artifacts ls\``);
        }
        const size = await context.plane.artifacts.size(digest);
        return reply.type('application/gzip').header('content-length', size).send(await context.plane.artifacts.openRead(digest));
      },
    );
  };
}
