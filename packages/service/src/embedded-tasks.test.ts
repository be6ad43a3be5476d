import { signGitHub } from '@webhooks/verifiers';
import { describe, expect, it } from 'vitest';
import { embeddedTasks } from './embedded-tasks.js';
import { harness } from './test-support.js';

describe('embeddedTasks', () => {
  it('yields each task of the embedded queue; ack completes, retry brings it back after backoff', async () => {
    const h = harness({ queue: undefined });
    const { registration } = await h.service.registerWebhook('tenant-1', 'github', 'conn-1', ['issue.*']);
    for (const id of [1, 2, 3]) {
      const body = JSON.stringify({ action: 'opened', issue: { id, number: id } });
      const headers = signGitHub({ body, secret: registration.webhookSecret, deliveryId: `d-${id}`, event: 'issues' });
      expect((await h.service.processWebhookEvent(registration.id, headers, body)).status).toBe(200);
    }

    const controller = new AbortController();
    const seen: string[] = [];
    for await (const item of embeddedTasks(h.store, {
      signal: controller.signal,
      clock: h.clock,
      pollMs: 5,
      backoffSeconds: 1,
    })) {
      seen.push(`${item.task.entityId}#${item.attempt}`);
      if (item.task.entityId === '2' && item.attempt === 1) {
        expect(await item.retry(new Error('backend busy'))).toBe('pending');
        h.clock.advance(1000);
      } else {
        await item.ack();
      }
      if (seen.length === 4) controller.abort();
    }
    expect(seen).toEqual(['1#1', '2#1', '3#1', '2#2']);
    expect(await h.store.listOutbox()).toEqual([]);
  });

  it('stops waiting as soon as it is aborted', async () => {
    const h = harness({ queue: undefined });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const items = [];
    for await (const item of embeddedTasks(h.store, { signal: controller.signal, pollMs: 60_000 })) items.push(item);
    expect(items).toEqual([]);
  });
});
