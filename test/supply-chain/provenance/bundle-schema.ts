/**
 * The Sigstore bundle v0.3 in its JSON form, as far as a key-signed DSSE bundle uses it, written from
 * the protobuf-specs definitions (sigstore_bundle.proto, sigstore_common.proto, envelope.proto):
 * camelCase field names, bytes as base64, no field the format does not define. (The generated
 * Bundle.schema.json upstream names its oneOf members in snake_case, so no real bundle passes it.)
 */
const BASE64 = { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' };

export const BUNDLE_V03_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['mediaType', 'verificationMaterial', 'dsseEnvelope'],
  properties: {
    mediaType: { const: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
    verificationMaterial: {
      type: 'object',
      additionalProperties: false,
      required: ['publicKey'],
      properties: {
        publicKey: { type: 'object', additionalProperties: false, required: ['hint'], properties: { hint: { type: 'string', minLength: 1 } } },
        tlogEntries: { type: 'array', maxItems: 0 },
        timestampVerificationData: {
          type: 'object',
          additionalProperties: false,
          properties: { rfc3161Timestamps: { type: 'array', items: { type: 'object', properties: { signedTimestamp: BASE64 } } } },
        },
      },
    },
    dsseEnvelope: {
      type: 'object',
      additionalProperties: false,
      required: ['payload', 'payloadType', 'signatures'],
      properties: {
        payload: BASE64,
        payloadType: { type: 'string', minLength: 1 },
        signatures: {
          type: 'array',
          minItems: 1,
          items: { type: 'object', additionalProperties: false, required: ['sig'], properties: { sig: BASE64, keyid: { type: 'string' } } },
        },
      },
    },
  },
} as const;
