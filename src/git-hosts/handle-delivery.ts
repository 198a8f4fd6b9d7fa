/**
 * One webhook delivery from GitHub or GitLab, from raw bytes to the intake's answer: find the project by
 * repository, check the signature or token, decide, claim the delivery id (a redelivery of a handled one
 * acts no more), fetch the commits, hand the intents on.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import { isAncestor } from '../git/index.js';
import type { GitHostProvider, ProjectHookWithSecrets, Store } from '../store/index.js';
import { fetchCommits, type FetchOptions } from './fetch-commits.js';
import { decideGitHub, githubRepositoryOf } from './github-events.js';
import { decideGitLab, gitlabRepositoryOf } from './gitlab-events.js';
import { verifyGitHubSignature, verifyGitLabToken } from './hook-auth.js';
import type { GitIntent, HookDecision, HookIntake } from './hook-intake.js';
import { parseBody } from './payload.js';
import { PROVIDER_NAMES } from './providers.js';

export interface HookHandlerDeps {
  store: Store;
  logger: Logger;
  /** The control plane's intake; undefined while it has none (deliveries get a 503 and are not recorded). */
  intake(): HookIntake | undefined;
  /** The project's bare repository, created when missing. */
  repositoryFor(project: string): Promise<string>;
  fetch?: FetchOptions;
}

export interface HookRequest {
  provider: GitHostProvider;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type HookReplyBody =
  | { message: string; pong: true }
  | { message: string; ignored: true }
  | { message: string; duplicate: true }
  | { message: string; deployments: string[]; urls: string[] };

export interface HookReply {
  statusCode: 200 | 202;
  body: HookReplyBody;
}

/** A handler that vanished (a crash) without an outcome for this long no longer blocks a redelivery. */
const STALE_CLAIM_MS = 10 * 60_000;

interface ProviderRules {
  event(headers: IncomingHttpHeaders): string | undefined;
  eventHeader: string;
  deliveryId(headers: IncomingHttpHeaders): string | undefined;
  repositoryOf(event: string, payload: unknown): string;
  /** Throws a 401 saying what is wrong. */
  verify(hook: ProjectHookWithSecrets, request: HookRequest): void;
  decide(event: string, payload: unknown): HookDecision;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
};

const RULES: Record<GitHostProvider, ProviderRules> = {
  github: {
    eventHeader: 'X-GitHub-Event',
    event: (headers) => header(headers, 'x-github-event'),
    deliveryId: (headers) => header(headers, 'x-github-delivery'),
    repositoryOf: githubRepositoryOf,
    verify(hook, request) {
      const signature = header(request.headers, 'x-hub-signature-256');
      if (!signature) {
        throw new MaestroError('unauthorized', `X-Hub-Signature-256 is missing: give the GitHub webhook the secret \`maestro hooks set github\` printed for project ${hook.projectName}`);
      }
      if (!verifyGitHubSignature(hook.secret, request.body, signature)) {
        throw new MaestroError('unauthorized', `X-Hub-Signature-256 does not match the body: the GitHub webhook's secret is not the one Maestro has for project ${hook.projectName}`);
      }
    },
    decide: decideGitHub,
  },
  gitlab: {
    eventHeader: 'X-Gitlab-Event',
    event: (headers) => header(headers, 'x-gitlab-event'),
    // Idempotency-Key stays the same across GitLab's own retries of one event.
    deliveryId: (headers) => header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-event-uuid'),
    repositoryOf: gitlabRepositoryOf,
    verify(hook, request) {
      const token = header(request.headers, 'x-gitlab-token');
      if (!token) {
        throw new MaestroError('unauthorized', `X-Gitlab-Token is missing: give the GitLab webhook the secret token \`maestro hooks set gitlab\` printed for project ${hook.projectName}`);
      }
      if (!verifyGitLabToken(hook.secret, token)) {
        throw new MaestroError('unauthorized', `X-Gitlab-Token is not the secret Maestro has for project ${hook.projectName}`);
      }
    },
    decide: decideGitLab,
  },
};

export async function handleHookDelivery(deps: HookHandlerDeps, request: HookRequest): Promise<HookReply> {
  const { provider } = request;
  const rules = RULES[provider];
  const name = PROVIDER_NAMES[provider];
  const event = rules.event(request.headers);
  if (!event) throw new MaestroError('bad_request', `${rules.eventHeader} is missing: this address takes ${name} webhook deliveries only`);
  const payload = parseBody(request.body, header(request.headers, 'content-type'));
  const repositoryName = rules.repositoryOf(event, payload);
  const hook = await deps.store.projectHooks.findByRepository(provider, repositoryName);
  if (!hook) {
    throw new MaestroError(
      'not_found',
      `no Maestro project is linked to ${provider} repository ${repositoryName}; run \`maestro hooks set ${provider} --repository ${repositoryName} --project P\``,
      { provider, repository: repositoryName },
    );
  }
  rules.verify(hook, request);

  const decision = rules.decide(event, payload);
  if (decision.kind === 'ping') return { statusCode: 200, body: { message: `${decision.message}: ${repositoryName} deploys project ${hook.projectName}`, pong: true } };
  if (decision.kind === 'ignore') return { statusCode: 202, body: { message: `ignored: ${decision.reason}`, ignored: true } };

  const intake = deps.intake();
  if (!intake) throw new MaestroError('unavailable', 'this Maestro cannot act on webhooks yet: its control plane has no intake for them');
  const deliveryId = rules.deliveryId(request.headers);
  if (deliveryId) {
    const claimed = await deps.store.hookDeliveries.claim({ provider, deliveryId, projectId: hook.projectId, event, staleAfterMs: STALE_CLAIM_MS });
    if (!claimed) {
      const earlier = await deps.store.hookDeliveries.get(provider, deliveryId);
      const message = earlier?.outcome ? `delivery ${deliveryId} was handled already (${earlier.outcome})` : `delivery ${deliveryId} is being handled`;
      return { statusCode: 200, body: { message, duplicate: true } };
    }
  }
  const settle = async (failed: boolean, text: string) => {
    if (!deliveryId) return;
    await deps.store.hookDeliveries.settle(provider, deliveryId, { failed, text }).catch((error: unknown) =>
      deps.logger.warn({ err: errorMessage(error), provider, deliveryId }, 'could not record the outcome of a webhook delivery'),
    );
  };

  try {
    const repository = await deps.repositoryFor(hook.projectName);
    const commits = await fetchCommits(repository, decision.fetches, deps.fetch);
    const intents = await withForcedAnswered(repository, withCommits(decision.intents, commits));
    const outcome = await intake.handle(hook.projectName, intents, { repository, env: {} }, {
      source: provider,
      ...(decision.actor ? { actor: decision.actor } : {}),
      providerRepository: repositoryName,
    });
    if (!outcome.ok) {
      throw new MaestroError('deploy_failed', outcome.message, { deployments: outcome.deploymentIds, urls: outcome.urls });
    }
    await settle(false, outcome.message);
    deps.logger.info({ provider, event, deliveryId, project: hook.projectName, deployments: outcome.deploymentIds }, 'webhook delivery accepted');
    return { statusCode: 202, body: { message: outcome.message, deployments: outcome.deploymentIds, urls: outcome.urls } };
  } catch (error) {
    // Recorded as failed, so the provider's redelivery of this id is acted on again.
    await settle(true, errorMessage(error));
    throw error;
  }
}

/** The intents with each sha replaced by the commit it names (an annotated tag's becomes its commit's). */
function withCommits(intents: readonly GitIntent[], commits: ReadonlyMap<string, string>): GitIntent[] {
  return intents.map((intent) =>
    intent.kind === 'branch_updated' || intent.kind === 'tag_pushed' || intent.kind === 'pull_request_updated'
      ? { ...intent, sha: commits.get(intent.sha) ?? intent.sha }
      : intent,
  );
}

/**
 * GitLab does not say whether a push was forced; the repository can, when it still has the old commit:
 * not an ancestor of the new one means history was rewritten. Left unsaid when the old commit is unknown.
 */
async function withForcedAnswered(repository: string, intents: GitIntent[]): Promise<GitIntent[]> {
  const answered: GitIntent[] = [];
  for (const intent of intents) {
    if (intent.kind !== 'branch_updated' || intent.forced !== undefined || !intent.beforeSha) {
      answered.push(intent);
      continue;
    }
    const fastForward = await isAncestor({ repository, env: {} }, intent.beforeSha, intent.sha).catch(() => undefined);
    answered.push(fastForward === undefined ? intent : { ...intent, forced: !fastForward });
  }
  return answered;
}
