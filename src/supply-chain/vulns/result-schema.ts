import { z } from 'zod';
import { ECOSYSTEMS, SEVERITIES, type VulnerabilityScanResult } from './types.js';

/** The scan result as the API serves it and as stored rows are read back. */
const Component = z.object({ ecosystem: z.enum(ECOSYSTEMS), name: z.string(), version: z.string(), purl: z.string() });

export const VulnerabilityScanResultSchema = z.object({
  status: z.enum(['complete', 'unavailable']),
  reason: z.string().optional(),
  scannedAt: z.string(),
  componentsDigest: z.string(),
  advisoriesDigest: z.string().optional(),
  components: z.number(),
  counts: z.object(Object.fromEntries(SEVERITIES.map((severity) => [severity, z.number()])) as Record<(typeof SEVERITIES)[number], z.ZodNumber>),
  ids: z.array(z.string()),
  findings: z.array(
    z.object({
      id: z.string(),
      aliases: z.array(z.string()),
      summary: z.string(),
      severity: z.enum(SEVERITIES),
      cvss: z.object({ vector: z.string(), score: z.number() }).optional(),
      package: Component,
      fixedVersions: z.array(z.string()),
      sources: z.array(z.string()),
      url: z.string().optional(),
    }),
  ),
  unscanned: z.array(z.object({ package: Component, reason: z.string() })),
  sources: z.array(
    z.object({
      name: z.string(),
      required: z.boolean(),
      status: z.enum(['ok', 'unavailable']),
      reason: z.string().optional(),
      cached: z.boolean(),
      advisoriesDigest: z.string().optional(),
      advisories: z.number().optional(),
      problems: z.array(z.string()),
    }),
  ),
}) satisfies z.ZodType<VulnerabilityScanResult>;
