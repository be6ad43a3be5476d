// Duplicate storm: each delivery is sent 5 times at once (while other deliveries' storms overlap),
// and again later, as providers that retry do. Exactly one sync task and one Event Grid publish per
// delivery, on the embedded queue and on Service Bus (a queue WITHOUT duplicate detection here, so a
// second send by the receiver would show), with and without Redis as the dedupe accelerator.
import { startEventGridCapture, startServiceBusTestBroker } from '@webhooks/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import { embeddedTasks, registerWebhook } from '../src/admin.js';
import { report } from '../src/figures.js';
import { cleanup, onCleanup, Receiver, RedisProcess, scale } from '../src/harness.js';
import { acknowledged, countBy, resetAgents, type Shot, sendGitHub } from '../src/load.js';

const QUEUE = 'sync-tasks';
const TENANT = { tenantId: 'storm', key: 'storm-key-0123456789abcdef' };
const EVENTGRID_KEY = 'eventgrid-capture-key';

afterEach(async () => {
  resetAgents();
  await cleanup();
});

describe('duplicate storm', () => {
  test.each([
    ['SQLite + embedded queue', { serviceBus: false, redis: false }],
    ['SQLite + Service Bus', { serviceBus: true, redis: false }],
    ['SQLite + Redis + Service Bus', { serviceBus: true, redis: true }],
  ])(
    '%s: 5 concurrent copies and a later retry give one sync task and one Event Grid publish each',
    async (stack, setup) => {
      const capture = await startEventGridCapture({ key: EVENTGRID_KEY });
      onCleanup(() => capture.close());
      const broker = setup.serviceBus ? await startServiceBusTestBroker({ queues: [QUEUE] }) : undefined;
      if (broker) onCleanup(() => broker.close());
      const redis = setup.redis ? await RedisProcess.start() : undefined;
      const receiver = await Receiver.start({
        tenants: [TENANT],
        env: {
          WEBHOOKS_RATE_LIMIT_PER_MINUTE: '10000000',
          WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '10000000',
          EVENTGRID_ENDPOINT: capture.endpoint,
          EVENTGRID_KEY,
          ...(broker ? { SERVICEBUS_CONNECTION_STRING: broker.connectionString, SERVICEBUS_QUEUE: QUEUE } : {}),
          ...(redis ? { REDIS_URL: redis.url } : {}),
        },
      });
      const registration = await registerWebhook(receiver.url, TENANT.key);
      const deliveries = scale(120, 900);
      const ids = Array.from({ length: deliveries }, () => crypto.randomUUID());

      // 5 copies of each at once, 6 deliveries' storms overlapping.
      const storm: Shot[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (next < deliveries) {
            const n = next++;
            const copies = await Promise.all(
              Array.from({ length: 5 }, () => sendGitHub(receiver.url, registration, n, ids[n])),
            );
            storm.push(...copies);
          }
        }),
      );
      // Again later: every delivery once more, and until each has been acknowledged (a copy that met
      // another in flight is told 503 `in_progress` and must retry).
      const later: Shot[] = [];
      for (let round = 0; round < 10; round++) {
        const answered = new Set([...storm, ...later].filter(acknowledged).map((s) => s.deliveryId));
        const todo =
          round === 0 ? ids.map((id, n) => ({ id, n })) : ids.flatMap((id, n) => (answered.has(id) ? [] : [{ id, n }]));
        if (todo.length === 0) break;
        for (const { id, n } of todo) later.push(await sendGitHub(receiver.url, registration, n, id));
      }

      let taskIds: string[];
      if (broker) taskIds = broker.messages(QUEUE).map((m) => (m.body as { deliveryId: string }).deliveryId);
      else taskIds = (await embeddedTasks(receiver.url, TENANT.key)).map((t) => t.task.deliveryId ?? '');
      const tasks = countBy(taskIds, (id) => id);
      const published = countBy(capture.events, (e) => {
        const data = e.event.data as { event?: { deliveryId?: string } } | undefined;
        return data?.event?.deliveryId ?? '';
      });
      const fresh = [...storm, ...later].filter(
        (s) => acknowledged(s) && (s.body as { duplicate?: boolean }).duplicate === false,
      );
      const statuses = countBy(storm, (s) => {
        const body = s.body as { duplicate?: boolean; code?: string } | undefined;
        return `${s.status}${body?.duplicate ? ' duplicate' : ''}${body?.code ? ` ${body.code}` : ''}`;
      });
      report(`duplicate storm: ${stack}`, {
        deliveries,
        requests: storm.length + later.length,
        stormAnswers: [...statuses.entries()].map(([k, v]) => `${k}:${v}`).join(','),
        laterAnswersNot2xx: later.filter((s) => !acknowledged(s)).length,
        freshAcknowledgements: fresh.length,
        syncTasks: taskIds.length,
        eventGridPublishes: capture.events.length,
        deliveriesWithoutTask: ids.filter((id) => !tasks.has(id)).length,
        deliveriesWithTwoOrMoreTasks: [...tasks.values()].filter((c) => c > 1).length,
        deliveriesWithTwoOrMorePublishes: [...published.values()].filter((c) => c > 1).length,
      });
      // Every delivery acknowledged, exactly one fresh acceptance, one task and one publish each.
      expect(ids.every((id) => [...storm, ...later].some((s) => s.deliveryId === id && acknowledged(s)))).toBe(true);
      expect(fresh.length).toBe(deliveries);
      expect(taskIds.length).toBe(deliveries);
      expect([...tasks.keys()].sort()).toEqual([...ids].sort());
      expect(capture.events.length).toBe(deliveries);
      expect([...published.keys()].sort()).toEqual([...ids].sort());
      // No copy was answered with anything but 2xx or the retryable 503 `in_progress`.
      for (const shot of [...storm, ...later]) {
        if (!acknowledged(shot)) expect(shot.body).toMatchObject({ code: 'in_progress' });
      }
      // The secret never reaches Event Grid.
      for (const request of capture.requests)
        expect(request.rawBody.toString('utf8')).not.toContain(registration.webhookSecret);
    },
    120_000,
  );
});
