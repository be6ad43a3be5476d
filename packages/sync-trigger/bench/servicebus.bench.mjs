// Service Bus sends through the local AMQP test broker (@webhooks/testkit, a test fixture): N sync
// tasks sent one by one (what OutboxDispatcher does today) against enqueueBatch, in batches of 100
// (one dispatcher round) and all at once (split only by the 256 KB message size). Prints
// messages/s (median of ROUNDS) and the ratios. Loopback only: against a real namespace the
// per-send round trip is longer, so batching gains more. Run with `pnpm bench` (builds first).
import { startServiceBusTestBroker } from '@webhooks/testkit';
import { ServiceBusSyncQueue } from '../dist/index.js';

const N = Number(process.env.BENCH_N ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function task(i) {
  return {
    integrationId: 'github',
    connectionId: 'conn-1',
    syncType: 'webhook_triggered',
    webhookEventId: `issue-${i}`,
    metadata: { webhook: 'reg_1', delivery: `dlv_${i}` },
    tenantId: 'tenant-1',
    eventType: 'opened',
    entityType: 'issue',
    entityId: `issue-${i}`,
    deliveryId: `delivery-${i}`,
  };
}

const broker = await startServiceBusTestBroker({ queues: ['bench'], requiresDuplicateDetection: true });
const queue = new ServiceBusSyncQueue(broker.connectionString, 'bench');
let nextId = 0;
const items = () => Array.from({ length: N }, (_, i) => ({ task: task(i), messageId: `m-${nextId++}` }));

const modes = {
  'one-by-one': async (batch) => {
    for (const item of batch) await queue.enqueue(item.task, { messageId: item.messageId });
  },
  'batches of 100': async (batch) => {
    for (let i = 0; i < batch.length; i += 100) await queue.enqueueBatch(batch.slice(i, i + 100));
  },
  'one enqueueBatch': async (batch) => {
    await queue.enqueueBatch(batch);
  },
};

try {
  await queue.enqueue(task(0), { messageId: 'warm-up' });
  const rates = {};
  for (const [name, run] of Object.entries(modes)) {
    const samples = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = items();
      const before = broker.messages('bench').length;
      const start = process.hrtime.bigint();
      await run(batch);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const arrived = broker.messages('bench').length - before;
      if (arrived !== N) throw new Error(`${name}: ${arrived} of ${N} messages arrived`);
      samples.push(N / seconds);
    }
    samples.sort((a, b) => a - b);
    rates[name] = samples[Math.floor(samples.length / 2)];
  }
  const base = rates['one-by-one'];
  console.log(`Service Bus test broker, N=${N} sync tasks, median of ${ROUNDS} rounds (Node ${process.version})`);
  for (const [name, rate] of Object.entries(rates)) {
    console.log(`  ${name.padEnd(18)} ${rate.toFixed(0).padStart(8)} messages/s   x${(rate / base).toFixed(1)}`);
  }
  const stats = broker.stats();
  console.log(
    `  broker: ${stats.transfers} transfers, ${stats.batches} batches, ${stats.duplicatesDropped} duplicates dropped`,
  );
} finally {
  await queue.close();
  await broker.close();
}
