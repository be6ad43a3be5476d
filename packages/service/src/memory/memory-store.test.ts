// What MemoryStore's own way of keeping records must not change, beyond the conformance suite:
// bodies kept byte for byte whichever way they are held, and no Date shared with a caller.
import type { DeliveryRecord, NewOutboxTask } from '@webhooks/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function delivery(id: string, body: Uint8Array, receivedAt = new Date(T0)): DeliveryRecord {
  return {
    id,
    registrationId: 'wh_1',
    tenantId: 'tenant-1',
    receivedAt,
    headers: { 'content-type': 'application/octet-stream' },
    body,
    outcome: 'accepted',
    events: [],
    dedupeKeys: [],
    syncTriggered: false,
  };
}

function task(id: string): NewOutboxTask {
  return {
    id,
    messageId: `msg-${id}`,
    task: {
      integrationId: 'github',
      connectionId: 'conn-1',
      syncType: 'webhook_triggered',
      webhookEventId: '1',
      metadata: { webhook: 'wh_1' },
      tenantId: 'tenant-1',
      eventType: 'issue.opened',
      entityType: 'issue',
      entityId: '1',
      deliveryId: 'd-1',
    },
    availableAt: new Date(T0),
    leasedUntil: new Date(T0 + 30_000),
    maxAttempts: 3,
  };
}

/** Every byte value, then `length` bytes of a pattern. */
function bytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i < 256 ? i : (i * 31 + 7) % 256;
  return out;
}

describe('MemoryStore bodies', () => {
  for (const [name, length] of [
    ['small (kept as a string)', 300],
    ['large (kept as bytes)', 40_000],
  ] as const) {
    it(`a ${name} body round-trips byte for byte from a view into a larger buffer`, async () => {
      const store = new MemoryStore();
      const expected = bytes(length);
      const backing = new Uint8Array(length + 64);
      backing.set(expected, 32);
      await store.append(delivery('dlv_1', backing.subarray(32, 32 + length)));
      backing.fill(0);
      const got = await store.getDelivery('dlv_1');
      expect(got?.body).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got!.body).equals(Buffer.from(expected))).toBe(true);
      // Bytes of its own, as before: not a view into anything shared.
      expect(got!.body.byteOffset).toBe(0);
      expect(got!.body.buffer.byteLength).toBe(length);
      // Each read is a fresh copy.
      got!.body[0] = 99;
      const again = await store.listDeliveries('wh_1', 1);
      expect(again[0]!.body[0]).toBe(expected[0]);
    });
  }

  it('an empty body and a Buffer body round-trip', async () => {
    const store = new MemoryStore();
    await store.append(delivery('dlv_empty', new Uint8Array(0)));
    await store.append(delivery('dlv_buffer', Buffer.from('héllo ✓', 'utf8')));
    expect((await store.getDelivery('dlv_empty'))?.body.byteLength).toBe(0);
    expect(Buffer.from((await store.getDelivery('dlv_buffer'))!.body).toString('utf8')).toBe('héllo ✓');
  });
});

describe('MemoryStore outbox dates', () => {
  it('a task keeps its own dates: not the caller’s, and none handed out', async () => {
    const store = new MemoryStore();
    const receivedAt = new Date(T0);
    const newTask = task('task_1');
    await store.append(delivery('dlv_1', new Uint8Array([1]), receivedAt), [newTask]);
    receivedAt.setTime(0);
    newTask.availableAt.setTime(0);
    newTask.leasedUntil?.setTime(0);
    const [listed] = await store.listOutbox();
    expect(listed?.createdAt).toEqual(new Date(T0));
    expect(listed?.availableAt).toEqual(new Date(T0));
    expect(listed?.leasedUntil).toEqual(new Date(T0 + 30_000));
    listed!.createdAt.setTime(0);
    listed!.availableAt.setTime(0);
    listed!.leasedUntil!.setTime(0);
    const [again] = await store.listOutbox();
    expect(again?.createdAt).toEqual(new Date(T0));
    expect(again?.availableAt).toEqual(new Date(T0));
    expect(again?.leasedUntil).toEqual(new Date(T0 + 30_000));
  });

  it('retry keeps a copy of the time it is given', async () => {
    const store = new MemoryStore();
    await store.append(delivery('dlv_1', new Uint8Array([1])), [task('task_1')]);
    const availableAt = new Date(T0 + 60_000);
    expect(await store.retry('task_1', 'broker down', availableAt)).toBe('pending');
    availableAt.setTime(0);
    const [listed] = await store.listOutbox();
    expect(listed).toMatchObject({ attempts: 1, lastError: 'broker down', availableAt: new Date(T0 + 60_000) });
  });
});
