import type { HealthStatus, RegistrationStatus, WebhookHealth } from './types.js';

export const HEALTH_RECOMMENDATIONS = {
  degraded: ['Monitor for additional failures', 'Check integration connection'],
  failed: ['Verify webhook secret', 'Check provider configuration', 'Retry failed events'],
} as const;

export const SILENT_RECOMMENDATION =
  'No events received recently: check that the provider subscription still exists (expired subscriptions are the usual cause)';
export const PENDING_RECOMMENDATION =
  'Finish the provider setup: paste the webhook URL and secret into the provider and send a test event';
export const INACTIVE_RECOMMENDATION = 'The registration is inactive: reactivate it to receive events';
export const SIGNATURES_FAILING_RECOMMENDATION =
  'Recent deliveries fail signature verification and none has verified since: if they come from the provider, check the secret it signs with (a rotation it has not picked up is the usual cause)';

export interface HealthInput {
  registrationId: string;
  status: RegistrationStatus;
  /** Consecutive downstream failures. */
  failureCount: number;
  /** Percentage (0-100) of failed deliveries in the recent window. */
  failureRate: number;
  lastEventAt?: Date;
  lastFailureAt?: Date;
  /** Now, for the silence check. */
  now?: Date;
  /** A registration that used to receive events and has received none for this long is "silent". */
  silentAfterMs?: number;
  /**
   * The newest deliveries that reached verification were all rejected. Only a recommendation: the
   * status never changes for it, since a stranger posting junk looks the same.
   */
  signaturesFailing?: boolean;
}

/**
 * The spec's health rules as a pure function:
 * failed when failureCount >= 3, failureRate > 25% or status 'failed';
 * degraded when failureCount is 1-2 or failureRate is 5-25% (or the registration is not active);
 * healthy otherwise.
 */
export function classifyHealth(input: HealthInput): WebhookHealth {
  const failureCount = Math.max(0, input.failureCount);
  const failureRate = clampRate(input.failureRate);
  let status: HealthStatus;
  if (input.status === 'failed' || failureCount >= 3 || failureRate > 25) status = 'failed';
  else if (failureCount >= 1 || failureRate >= 5 || input.status !== 'active') status = 'degraded';
  else status = 'healthy';

  const recommendations: string[] =
    status === 'healthy' ? [] : status === 'failed' ? [...HEALTH_RECOMMENDATIONS.failed] : [];
  if (status === 'degraded' && (failureCount >= 1 || failureRate >= 5)) {
    recommendations.push(...HEALTH_RECOMMENDATIONS.degraded);
  }
  if (input.status === 'pending_verification') recommendations.push(PENDING_RECOMMENDATION);
  if (input.status === 'inactive') recommendations.push(INACTIVE_RECOMMENDATION);
  if (isSilent(input)) recommendations.push(SILENT_RECOMMENDATION);
  if (input.signaturesFailing === true) recommendations.push(SIGNATURES_FAILING_RECOMMENDATION);

  const health: WebhookHealth = {
    registrationId: input.registrationId,
    status,
    failureCount,
    failureRate,
    recommendations,
  };
  if (input.lastEventAt) health.lastEventAt = input.lastEventAt;
  if (input.lastFailureAt) health.lastFailureAt = input.lastFailureAt;
  return health;
}

function isSilent(input: HealthInput): boolean {
  if (!input.lastEventAt || input.silentAfterMs === undefined || input.status !== 'active') return false;
  const now = input.now ?? new Date();
  return now.getTime() - input.lastEventAt.getTime() > input.silentAfterMs;
}

function clampRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) return 0;
  return Math.min(100, rate);
}

/** Failure rate in percent from counts in a window; 0 when nothing happened. */
export function failureRatePercent(failures: number, total: number): number {
  if (total <= 0) return 0;
  return Math.round((Math.min(failures, total) / total) * 10000) / 100;
}
