/** Traffic splits as the strategies ask for them: only positive weights, always summing to 100. */
import type { RevisionView, Weights } from './types.js';

export function weightOf(weights: Weights, revisionId: string): number {
  return weights.reduce((sum, entry) => (entry.revisionId === revisionId ? sum + entry.weight : sum), 0);
}

/** Same split, whatever the order or zero entries. */
export function sameWeights(a: Weights, b: Weights): boolean {
  const ids = new Set([...a, ...b].map((entry) => entry.revisionId));
  for (const id of ids) if (weightOf(a, id) !== weightOf(b, id)) return false;
  return true;
}

/** `targetWeight` percent to the target, the rest to the stable revision (all of it to the target without one). */
export function split(targetId: string, stableId: string | undefined, targetWeight: number): Weights {
  const weights = stableId === undefined
    ? [{ revisionId: targetId, weight: 100 }]
    : [
        { revisionId: targetId, weight: targetWeight },
        { revisionId: stableId, weight: 100 - targetWeight },
      ];
  return weights.filter((entry) => entry.weight > 0);
}

/**
 * Each revision's share of traffic in proportion to its healthy replicas (rolling updates), rounded so
 * the shares sum to 100. A revision with no healthy replica gets 0; undefined when neither has one.
 */
export function proportional(target: RevisionView, stable: RevisionView | undefined): Weights | undefined {
  const targetHealthy = target.healthyReplicas;
  const stableHealthy = stable?.healthyReplicas ?? 0;
  const total = targetHealthy + stableHealthy;
  if (total === 0) return undefined;
  const targetWeight = Math.round((100 * targetHealthy) / total);
  return split(target.revisionId, stable?.revisionId, targetWeight);
}

/** The revision of a split that would take traffic while it has no healthy replica, if any. */
export function unservedRevision(weights: Weights, views: Array<RevisionView | undefined>): string | undefined {
  for (const entry of weights) {
    if (entry.weight <= 0) continue;
    const view = views.find((candidate) => candidate?.revisionId === entry.revisionId);
    if (!view || view.healthyReplicas === 0) return entry.revisionId;
  }
  return undefined;
}
