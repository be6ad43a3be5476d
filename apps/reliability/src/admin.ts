// The admin API as a tenant uses it: register a webhook, read the embedded queue (GET /sync-tasks).
import { expect } from 'vitest';
import { type Registration, send } from './load.js';

export interface Registered extends Registration {
  status: string;
  webhookUrl: string;
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
}

export async function registerWebhook(
  url: string,
  key: string,
  options: { integrationId?: string; connectionId?: string; events?: string[]; webhookSecret?: string } = {},
): Promise<Registered> {
  const answer = await send(`${url}/integrations/${options.integrationId ?? 'github'}/webhooks`, {
    headers: bearer(key),
    body: JSON.stringify({
      connectionId: options.connectionId ?? 'conn-reliability',
      events: options.events ?? ['issue.*'],
      // Quick retries (the default waits 30 s), so a queue that comes back is drained within the test.
      retryPolicy: { maxRetries: 50, backoffSeconds: 1 },
      ...(options.webhookSecret ? { webhookSecret: options.webhookSecret } : {}),
    }),
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body as Registered;
}

interface TaskView {
  id: string;
  messageId: string;
  status: string;
  task: { deliveryId?: string };
}

/**
 * Every sync task of the tenant in the embedded queue (the SQLite outbox), by delivery id. The
 * route pages at 1000: a count that could reach it is refused rather than silently cut.
 */
export async function embeddedTasks(url: string, key: string): Promise<TaskView[]> {
  const answer = await send(`${url}/sync-tasks?limit=1000`, { method: 'GET', headers: bearer(key), timeoutMs: 30_000 });
  expect(answer.status, answer.text).toBe(200);
  const { tasks, total } = answer.body as { tasks: TaskView[]; total: number };
  if (total >= 1000)
    throw new Error('1000 tasks or more for one tenant: spread the load over more tenants to count it');
  return tasks;
}
