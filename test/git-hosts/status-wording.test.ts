import { describe, expect, it } from 'vitest';
import { describeStatus, outcomeOfDeployments, type DeploymentSummary } from '../../src/git-hosts/index.js';

const d = (service: string, status: DeploymentSummary['status'], error: string | null = null): DeploymentSummary => ({
  service,
  status,
  url: `http://${service}.pr-4.shop.localhost:8080/`,
  error,
});

describe("what a commit's deployments tell the provider", () => {
  it('follows the slowest service until all are done, then the first failure, cancellation or the URL', () => {
    expect(outcomeOfDeployments('pr-4', [])).toBeUndefined();
    expect(outcomeOfDeployments('pr-4', [d('web', 'deploying'), d('api', 'building')])).toEqual({ kind: 'building', environment: 'pr-4' });
    expect(outcomeOfDeployments('pr-4', [d('web', 'deploying'), d('api', 'succeeded')])).toEqual({ kind: 'rolling_out', environment: 'pr-4' });
    expect(outcomeOfDeployments('pr-4', [d('web', 'succeeded'), d('api', 'succeeded')])).toEqual({ kind: 'deployed', environment: 'pr-4', url: 'http://web.pr-4.shop.localhost:8080/' });
    expect(outcomeOfDeployments('pr-4', [d('web', 'succeeded'), d('api', 'failed', 'build step exited with 1')])).toEqual({
      kind: 'failed',
      environment: 'pr-4',
      reason: 'api: build step exited with 1',
    });
    expect(outcomeOfDeployments('production', [d('web', 'rolled_back', 'error rate 12% > 1%')])).toEqual({
      kind: 'failed',
      environment: 'production',
      reason: 'rolled back: error rate 12% > 1%',
    });
    expect(outcomeOfDeployments('pr-4', [d('web', 'cancelled', 'superseded by a newer commit')])).toEqual({ kind: 'cancelled', environment: 'pr-4', reason: 'superseded by a newer commit' });
  });

  it('words each moment with a state GitHub accepts', () => {
    expect(describeStatus({ kind: 'building', environment: 'pr-4' })).toEqual({ state: 'pending', description: 'Building for pr-4' });
    expect(describeStatus({ kind: 'deployed', environment: 'pr-4', url: 'http://web.pr-4.shop.localhost:8080/' })).toEqual({
      state: 'success',
      description: 'Deployed to pr-4: http://web.pr-4.shop.localhost:8080/',
      targetUrl: 'http://web.pr-4.shop.localhost:8080/',
    });
    expect(describeStatus({ kind: 'failed', environment: 'production', reason: 'rolled back:\n error rate' }).description).toBe('Failed in production: rolled back: error rate');
  });
});
