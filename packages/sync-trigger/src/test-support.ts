import type { SyncTask } from '@webhooks/core';

/** A sync task as the service builds it, numbered so tests can tell them apart. */
export function syncTask(n: number, overrides: Partial<SyncTask> = {}): SyncTask {
  return {
    integrationId: 'github',
    connectionId: 'conn-1',
    syncType: 'webhook_triggered',
    webhookEventId: `issue-${n}`,
    metadata: { webhook: 'reg_1', delivery: `dlv_${n}` },
    tenantId: 'tenant-1',
    eventType: 'opened',
    entityType: 'issue',
    entityId: `issue-${n}`,
    deliveryId: `delivery-${n}`,
    ...overrides,
  };
}

/** Fast SDK retries, so tests of failures do not wait for the production backoff. */
export const fastRetry = { maxRetries: 1, retryDelayInMs: 20, maxRetryDelayInMs: 50, timeoutInMs: 3000 };
