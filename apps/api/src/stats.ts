import type { DeliveryRecord, OutboxStore, OutboxTask } from '@webhooks/core';
import { WebhookError } from '@webhooks/core';
import type { WebhookManagementService } from '@webhooks/service';
import type { RequestHandler } from 'express';
import type { Principal } from './auth.js';

/** Deliveries read per registration: the service's cap on listDeliveries. */
const DELIVERIES_PER_REGISTRATION = 500;
const OUTBOX_LIMIT = 1000;
const MINUTE_MS = 60_000;
/** Registrations read at once, so a tenant with many does not open hundreds of store queries together. */
const CONCURRENCY = 8;

export interface StatsOptions {
  service: WebhookManagementService;
  outbox: OutboxStore;
}

export interface MinuteStats {
  /** The start of the minute, ISO 8601. */
  minute: string;
  received: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  syncsTriggered: number;
  rejectedByReason: Record<string, number>;
  /** Sync tasks created in this minute that still wait in the outbox (pending, leased or dead). */
  outboxWaiting: number;
}

export interface TenantStats {
  from: string;
  to: string;
  hours: number;
  registrations: number;
  /** True when a registration had more deliveries in the window than were read. */
  truncated: boolean;
  totals: { received: number; accepted: number; rejected: number; duplicates: number; syncsTriggered: number };
  rejectionsByReason: Record<string, number>;
  /** Only the minutes with something in them, oldest first. */
  minutes: MinuteStats[];
  outbox: { pending: number; dead: number; oldestPendingAgeMs: number };
}

/** GET /stats?hours=24: the tenant's traffic per minute, for the admin panel's overview. */
export function statsHandler(options: StatsOptions): RequestHandler {
  return async (req, res) => {
    const tenantId = (res.locals.principal as Principal).tenantId;
    res.json(await tenantStats(options, tenantId, hoursParam(req.query.hours), Date.now()));
  };
}

/**
 * Everything is read through the tenant: its registrations, their deliveries (each checked again
 * for the tenant) and its own outbox tasks. The store's global outbox stats are not used, because
 * they would count other tenants' tasks.
 */
export async function tenantStats(
  { service, outbox }: StatsOptions,
  tenantId: string,
  hours: number,
  now: number,
): Promise<TenantStats> {
  const to = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const from = to - hours * 60 * MINUTE_MS;
  const registrations = await service.listRegistrations(tenantId);

  const minutes = new Map<number, MinuteStats>();
  const bucket = (at: Date): MinuteStats | null => {
    const time = at.getTime();
    if (!(time >= from && time < to)) return null;
    const start = Math.floor(time / MINUTE_MS) * MINUTE_MS;
    let entry = minutes.get(start);
    if (!entry) {
      entry = {
        minute: new Date(start).toISOString(),
        received: 0,
        accepted: 0,
        rejected: 0,
        duplicates: 0,
        syncsTriggered: 0,
        rejectedByReason: {},
        outboxWaiting: 0,
      };
      minutes.set(start, entry);
    }
    return entry;
  };

  const totals = { received: 0, accepted: 0, rejected: 0, duplicates: 0, syncsTriggered: 0 };
  const rejectionsByReason: Record<string, number> = {};
  let truncated = false;

  const count = (delivery: DeliveryRecord) => {
    if (delivery.tenantId !== tenantId) return;
    const entry = bucket(delivery.receivedAt);
    if (!entry) return;
    entry.received++;
    totals.received++;
    if (delivery.outcome === 'accepted' || delivery.outcome === 'queued') {
      entry.accepted++;
      totals.accepted++;
    } else if (delivery.outcome === 'duplicate') {
      entry.duplicates++;
      totals.duplicates++;
    } else if (
      delivery.outcome === 'rejected' ||
      delivery.outcome === 'invalid_payload' ||
      delivery.outcome === 'rate_limited'
    ) {
      const reason = delivery.reason ?? delivery.outcome;
      entry.rejected++;
      totals.rejected++;
      entry.rejectedByReason[reason] = (entry.rejectedByReason[reason] ?? 0) + 1;
      rejectionsByReason[reason] = (rejectionsByReason[reason] ?? 0) + 1;
    }
    if (delivery.syncTriggered) {
      entry.syncsTriggered++;
      totals.syncsTriggered++;
    }
  };

  for (let i = 0; i < registrations.length; i += CONCURRENCY) {
    const batch = registrations.slice(i, i + CONCURRENCY);
    const lists = await Promise.all(
      batch.map((registration) => service.listDeliveries(registration.id, tenantId, DELIVERIES_PER_REGISTRATION)),
    );
    for (const deliveries of lists) {
      const oldest = deliveries[deliveries.length - 1];
      if (deliveries.length >= DELIVERIES_PER_REGISTRATION && oldest && oldest.receivedAt.getTime() >= from) {
        truncated = true;
      }
      for (const delivery of deliveries) count(delivery);
    }
  }

  const waiting: OutboxTask[] = [];
  for (const status of ['pending', 'leased', 'dead'] as const) {
    waiting.push(...(await outbox.listOutbox({ tenantId, status, limit: OUTBOX_LIMIT })));
  }
  let oldestPending = Number.POSITIVE_INFINITY;
  let pending = 0;
  let dead = 0;
  for (const task of waiting) {
    if (task.task.tenantId !== tenantId) continue;
    if (task.status === 'dead') dead++;
    else {
      pending++;
      oldestPending = Math.min(oldestPending, task.createdAt.getTime());
    }
    const entry = bucket(task.createdAt);
    if (entry) entry.outboxWaiting++;
  }

  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    hours,
    registrations: registrations.length,
    truncated,
    totals,
    rejectionsByReason,
    minutes: [...minutes.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry),
    outbox: { pending, dead, oldestPendingAgeMs: pending > 0 ? Math.max(0, now - oldestPending) : 0 },
  };
}

function hoursParam(value: unknown): number {
  if (value === undefined) return 24;
  const parsed = typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 168) {
    throw new WebhookError('invalid_request', 'hours must be a whole number from 1 to 168');
  }
  return parsed;
}
