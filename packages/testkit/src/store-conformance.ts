import type {
  ApiKeyRecord,
  ApiKeyStore,
  Clock,
  DeliveryRecord,
  DeliveryStore,
  NewOutboxTask,
  OutboxStore,
  PublishedEvent,
  RegistrationStore,
  SyncTask,
  WebhookRegistration,
} from '@webhooks/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOSTILE_IDS } from './hostile-ids.js';

/** A clock the suite moves, for stores that read time from their own clock as well as from `now` arguments. */
export interface SettableClock extends Clock {
  set(ms: number): void;
}

/** A store under test: the outbox and API-key parts are checked unless turned off in the options. */
export type ConformanceStore = RegistrationStore & DeliveryStore & Partial<OutboxStore> & Partial<ApiKeyStore>;

export interface StoreUnderTest {
  store: ConformanceStore;
  /** When given, the suite sets it to every `now` it passes, so a store may read either. */
  clock?: SettableClock;
  /** Called after each test: close connections, delete temporary files. */
  close?(): Promise<void>;
}

/** Called before every test for a fresh, empty store (each test assumes it starts empty). */
export type StoreFactory = () => StoreUnderTest | Promise<StoreUnderTest>;

export interface StoreConformanceOptions {
  /** Check OutboxStore (default true). */
  outbox?: boolean;
  /** Check ApiKeyStore (default true). */
  apiKeys?: boolean;
  /**
   * Check that dedupe claims expire as judged by the `now` argument: a pending claim at
   * `now + leaseMs`, a committed one at the `expiresAt` of its append (default true).
   * Turn off only for an engine whose expiry follows the server's own time (a native TTL).
   */
  expiry?: boolean;
  /** Per-test timeout for the 25 MB body and the concurrency tests, in ms (default 60 000). */
  slowTestTimeoutMs?: number;
}

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const WEEK = 7 * 86_400_000;
const UNICODE = 'ünïcødé ✓ 漢字 🚀 \u202e';

/**
 * One suite every RegistrationStore + DeliveryStore (+ OutboxStore, ApiKeyStore) passes, built on
 * vitest. `factory` runs before each test and must return an empty store; `close` runs after it.
 * The in-memory store of @webhooks/service is the reference: its semantics are the contract.
 */
export function runStoreConformance(name: string, factory: StoreFactory, options: StoreConformanceOptions = {}): void {
  const slow = options.slowTestTimeoutMs ?? 60_000;
  let subject: StoreUnderTest | undefined;

  const store = (): ConformanceStore => {
    if (!subject) throw new Error('store conformance: the factory has not run');
    return subject.store;
  };
  /** The `now` the suite passes, mirrored into the store's clock when it has one. */
  const at = (ms: number): Date => {
    subject?.clock?.set(ms);
    return new Date(ms);
  };
  const outbox = (): OutboxStore => requireMethods<OutboxStore>(store(), OUTBOX_METHODS, 'OutboxStore');
  const apiKeys = (): ApiKeyStore => requireMethods<ApiKeyStore>(store(), API_KEY_METHODS, 'ApiKeyStore');

  describe(`${name}: store conformance`, () => {
    beforeEach(async () => {
      subject = await factory();
      subject.clock?.set(T0);
    });
    afterEach(async () => {
      const current = subject;
      subject = undefined;
      await current?.close?.();
    });

    describe('RegistrationStore', () => {
      it('create then get returns the same registration, every field, with an etag', async () => {
        const input = registration({ id: 'wh_full' });
        const created = await store().create(input);
        expect(typeof created.etag).toBe('string');
        expect(created.etag).not.toBe('');
        expect(created).toEqual({ ...input, etag: created.etag });
        const got = await store().get('wh_full');
        expect(got).toEqual(created);
        expect(got?.createdAt).toBeInstanceOf(Date);
        expect(got?.previousSecrets?.[0]?.expiresAt).toBeInstanceOf(Date);
      });

      it('keeps the optional fields absent when they were not given', async () => {
        const input = minimalRegistration('wh_minimal');
        await store().create(input);
        const got = await store().get('wh_minimal');
        expect(got).toEqual({ ...input, etag: got?.etag });
        expect(got?.previousSecrets ?? []).toEqual([]);
        expect(got?.metadata).toBeUndefined();
        expect(got?.providerWebhookId).toBeUndefined();
      });

      it('create fails with conflict when the id exists, and keeps the first', async () => {
        await store().create(registration({ id: 'wh_dup', connectionId: 'first' }));
        await expectCode(store().create(registration({ id: 'wh_dup', connectionId: 'second' })), 'conflict');
        expect((await store().get('wh_dup'))?.connectionId).toBe('first');
      });

      it('create does not let the caller hold on to the stored copy', async () => {
        const input = registration({ id: 'wh_copy' });
        await store().create(input);
        input.events.push('mutated.after');
        (input.metadata as Record<string, unknown>).mutated = true;
        const got = await store().get('wh_copy');
        expect(got?.events).not.toContain('mutated.after');
        expect(got?.metadata?.mutated).toBeUndefined();
      });

      it('unicode survives in every text field of a registration and a delivery', async () => {
        const u = (field: string) => `${field} ${UNICODE} «ß» Ω≈ 𝔘𝔫𝔦`;
        const input = registration({
          id: 'wh_unicode',
          tenantId: u('tenant'),
          integrationId: u('integration'),
          connectionId: u('connection'),
          webhookUrl: `https://hooks.example.com/${u('url')}`,
          webhookSecret: u('secret'),
          previousSecrets: [{ secret: u('previous'), expiresAt: new Date(T0) }],
          providerWebhookId: u('provider-hook'),
          events: [u('entity.event')],
          metadata: { [u('key')]: u('value'), list: [u('item')] },
          providerOptions: {
            google: { audience: u('aud'), serviceAccountEmail: u('sa') },
            salesforceOrganizationId: u('org'),
          },
        });
        await store().create(input);
        expect(await store().get('wh_unicode')).toEqual({ ...input, etag: (await store().get('wh_unicode'))?.etag });
        expect(
          (
            await store().listRegistrations(u('tenant'), {
              connectionId: u('connection'),
              integrationId: u('integration'),
            })
          ).items,
        ).toHaveLength(1);
        const record = delivery({
          id: 'dlv_unicode',
          registrationId: 'wh_unicode',
          tenantId: u('tenant'),
          headers: { [u('x-header')]: u('header value') },
          body: new TextEncoder().encode(u('body')),
          url: u('https://example.com/'),
          method: u('POST'),
          reason: u('reason'),
          events: [{ eventType: u('event'), entityType: u('entity'), entityId: u('id'), deliveryId: u('delivery') }],
          dedupeKeys: [u('id:key')],
          diagnostics: { signatureHeaders: [u('x-sig')], bodyLength: 1, contentType: u('text/plain') },
          replayOf: 'dlv_before',
        });
        await store().append(record);
        const got = await store().getDelivery('dlv_unicode');
        expect({ ...got!, body: null }).toEqual({ ...record, body: null });
        expect(new TextDecoder().decode(got!.body)).toBe(u('body'));
      });

      it('get returns null for an unknown id', async () => {
        expect(await store().get('wh_missing')).toBeNull();
      });

      it('update with the current etag succeeds and changes the etag', async () => {
        const created = await store().create(registration({ id: 'wh_upd' }));
        const changed = { ...created, status: 'active' as const, events: ['contact.*', `${UNICODE}.créé`] };
        const updated = await store().update(changed, { ifMatch: created.etag! });
        expect(updated.etag).toBeDefined();
        expect(updated.etag).not.toBe(created.etag);
        const got = await store().get('wh_upd');
        expect(got).toEqual(updated);
        expect(got?.events).toEqual(['contact.*', `${UNICODE}.créé`]);
        expect(got?.createdAt).toEqual(created.createdAt);
      });

      it('update with a stale etag fails with conflict and changes nothing', async () => {
        const created = await store().create(registration({ id: 'wh_stale' }));
        const first = await store().update({ ...created, connectionId: 'one' }, { ifMatch: created.etag! });
        await expectCode(store().update({ ...created, connectionId: 'two' }, { ifMatch: created.etag! }), 'conflict');
        expect(await store().get('wh_stale')).toEqual(first);
      });

      it('exactly one of many concurrent updates with the same etag wins', async () => {
        const created = await store().create(registration({ id: 'wh_race' }));
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            store().update({ ...created, connectionId: `c${i}` }, { ifMatch: created.etag! }),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(errorCode(r.reason)).toBe('conflict');
      });

      it('update without ifMatch overwrites (last write wins)', async () => {
        const created = await store().create(registration({ id: 'wh_lww' }));
        await store().update({ ...created, connectionId: 'one' });
        const second = await store().update({ ...created, connectionId: 'two' });
        expect((await store().get('wh_lww'))?.connectionId).toBe('two');
        expect(second.connectionId).toBe('two');
      });

      it('update of a missing registration fails with not_found', async () => {
        await expectCode(store().update(registration({ id: 'wh_nobody' })), 'not_found');
        expect(await store().get('wh_nobody')).toBeNull();
      });

      it('update keeps secrets, dates and nested fields exact', async () => {
        const created = await store().create(registration({ id: 'wh_rot' }));
        const rotated: WebhookRegistration = {
          ...created,
          webhookSecret: `whsec_new_${UNICODE}`,
          previousSecrets: [
            { secret: created.webhookSecret, expiresAt: new Date(T0 + 86_400_001) },
            { secret: 'older', expiresAt: new Date(T0 + 1) },
          ],
          updatedAt: new Date(T0 + 999),
        };
        const updated = await store().update(rotated, { ifMatch: created.etag! });
        expect(await store().get('wh_rot')).toEqual({ ...rotated, etag: updated.etag });
      });

      it('delete removes the registration and succeeds when already gone', async () => {
        await store().create(registration({ id: 'wh_del' }));
        await store().delete('wh_del');
        expect(await store().get('wh_del')).toBeNull();
        await expect(store().delete('wh_del')).resolves.toBeUndefined();
        await expect(store().delete('wh_never')).resolves.toBeUndefined();
        // The id is free again.
        await store().create(registration({ id: 'wh_del' }));
        expect(await store().get('wh_del')).not.toBeNull();
      });

      it('delete also removes its counters and deliveries', async () => {
        await store().create(registration({ id: 'wh_delall' }));
        await store().recordOutcome('wh_delall', 'success', at(T0));
        await store().append(delivery({ id: 'dlv_delall', registrationId: 'wh_delall' }));
        await store().delete('wh_delall');
        expect(await store().getCounters('wh_delall')).toEqual(zeroCounters);
        expect(await store().listDeliveries('wh_delall', 10)).toEqual([]);
        expect(await store().getDelivery('dlv_delall')).toBeNull();
      });

      it('listRegistrations is scoped to the tenant and ordered by createdAt', async () => {
        await store().create(registration({ id: 'wh_a1', tenantId: 'tenant-a', createdAt: new Date(T0 + 3) }));
        await store().create(registration({ id: 'wh_b1', tenantId: 'tenant-b', createdAt: new Date(T0 + 1) }));
        await store().create(registration({ id: 'wh_a2', tenantId: 'tenant-a', createdAt: new Date(T0 + 2) }));
        await store().create(registration({ id: 'wh_u1', tenantId: `租户-${UNICODE}`, createdAt: new Date(T0 + 4) }));
        const a = await store().listRegistrations('tenant-a');
        expect(a.items.map((r) => r.id)).toEqual(['wh_a2', 'wh_a1']);
        expect(a.continuationToken).toBeUndefined();
        expect(a.items[0]).toEqual(await store().get('wh_a2'));
        expect((await store().listRegistrations(`租户-${UNICODE}`)).items.map((r) => r.id)).toEqual(['wh_u1']);
        expect((await store().listRegistrations('tenant-none')).items).toEqual([]);
        // A tenant id is a value, never a pattern.
        expect((await store().listRegistrations('tenant-%')).items).toEqual([]);
        expect((await store().listRegistrations("' OR 1=1 --")).items).toEqual([]);
      });

      it('listRegistrations filters by integrationId, connectionId and status', async () => {
        await store().create(
          registration({ id: 'wh_f1', integrationId: 'github', connectionId: 'c1', status: 'active' }),
        );
        await store().create(
          registration({ id: 'wh_f2', integrationId: 'github', connectionId: 'c2', status: 'failed' }),
        );
        await store().create(
          registration({ id: 'wh_f3', integrationId: 'slack', connectionId: 'c1', status: 'active' }),
        );
        await store().create(
          registration({ id: 'wh_f4', integrationId: 'slack', connectionId: `c-${UNICODE}`, status: 'inactive' }),
        );
        const ids = async (o: Parameters<RegistrationStore['listRegistrations']>[1]) =>
          (await store().listRegistrations('tenant-1', o)).items.map((r) => r.id).sort();
        expect(await ids({ integrationId: 'github' })).toEqual(['wh_f1', 'wh_f2']);
        expect(await ids({ connectionId: 'c1' })).toEqual(['wh_f1', 'wh_f3']);
        expect(await ids({ status: 'active' })).toEqual(['wh_f1', 'wh_f3']);
        expect(await ids({ integrationId: 'github', connectionId: 'c1', status: 'active' })).toEqual(['wh_f1']);
        expect(await ids({ connectionId: `c-${UNICODE}` })).toEqual(['wh_f4']);
        expect(await ids({ integrationId: 'nothing' })).toEqual([]);
      });

      it('listRegistrations pages with continuation tokens, each registration once', async () => {
        for (let i = 0; i < 7; i++) {
          await store().create(registration({ id: `wh_p${i}`, createdAt: new Date(T0 + 10 * (7 - i)) }));
        }
        await store().create(registration({ id: 'wh_pother', tenantId: 'tenant-2' }));
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store().listRegistrations('tenant-1', {
            limit: 3,
            ...(token ? { continuationToken: token } : {}),
          });
          expect(page.items.length).toBeLessThanOrEqual(3);
          seen.push(...page.items.map((r) => r.id));
          token = page.continuationToken;
          pages++;
        } while (token !== undefined && pages < 10);
        expect(pages).toBe(3);
        expect(seen).toEqual(['wh_p6', 'wh_p5', 'wh_p4', 'wh_p3', 'wh_p2', 'wh_p1', 'wh_p0']);
        const filtered = await store().listRegistrations('tenant-1', { limit: 2, status: 'active' });
        expect(filtered.items).toHaveLength(2);
        expect(filtered.continuationToken).toBeDefined();
      });

      it('counts totals and failed registrations, per tenant and overall', async () => {
        expect(await store().counts()).toEqual({ total: 0, failed: 0 });
        await store().create(registration({ id: 'wh_c1', tenantId: 't1', status: 'active' }));
        await store().create(registration({ id: 'wh_c2', tenantId: 't1', status: 'failed' }));
        await store().create(registration({ id: 'wh_c3', tenantId: 't2', status: 'failed' }));
        await store().create(registration({ id: 'wh_c4', tenantId: 't2', status: 'pending_verification' }));
        expect(await store().counts('t1')).toEqual({ total: 2, failed: 1 });
        expect(await store().counts('t2')).toEqual({ total: 2, failed: 1 });
        expect(await store().counts('t3')).toEqual({ total: 0, failed: 0 });
        expect(await store().counts()).toEqual({ total: 4, failed: 2 });
      });

      it('recordOutcome counts each outcome and a success resets the failure streak', async () => {
        await store().create(registration({ id: 'wh_cnt' }));
        expect(await store().getCounters('wh_cnt')).toEqual(zeroCounters);
        await store().recordOutcome('wh_cnt', 'failure', at(T0 + 1));
        await store().recordOutcome('wh_cnt', 'failure', at(T0 + 2));
        await store().recordOutcome('wh_cnt', 'verification_failure', at(T0 + 3));
        expect(await store().getCounters('wh_cnt')).toEqual({
          processedEventCount: 0,
          failureCount: 2,
          verificationFailureCount: 1,
          lastFailureAt: new Date(T0 + 2),
          lastVerificationFailureAt: new Date(T0 + 3),
        });
        await store().recordOutcome('wh_cnt', 'success', at(T0 + 4));
        const counters = await store().getCounters('wh_cnt');
        expect(counters).toEqual({
          processedEventCount: 1,
          failureCount: 0,
          verificationFailureCount: 1,
          lastEventAt: new Date(T0 + 4),
          lastFailureAt: new Date(T0 + 2),
          lastVerificationFailureAt: new Date(T0 + 3),
        });
        expect(counters.lastEventAt).toBeInstanceOf(Date);
      });

      it('recordOutcome with a count adds that many at once', async () => {
        await store().create(registration({ id: 'wh_n' }));
        await store().recordOutcome('wh_n', 'failure', new Date(T0), 2);
        await store().recordOutcome('wh_n', 'success', new Date(T0 + 10), 7);
        await store().recordOutcome('wh_n', 'verification_failure', new Date(T0 + 20), 3);
        await store().recordOutcome('wh_n', 'success', new Date(T0 + 30), 0);
        const counters = await store().getCounters('wh_n');
        expect(counters).toMatchObject({ processedEventCount: 7, failureCount: 0, verificationFailureCount: 3 });
        expect(counters.lastEventAt).toEqual(new Date(T0 + 10));
      });

      it('counters are exact under concurrency', { timeout: slow }, async () => {
        await store().create(registration({ id: 'wh_conc' }));
        await store().create(registration({ id: 'wh_conc2' }));
        await Promise.all([
          ...Array.from({ length: 300 }, (_, i) => store().recordOutcome('wh_conc', 'success', at(T0 + i))),
          ...Array.from({ length: 120 }, (_, i) =>
            store().recordOutcome('wh_conc', 'verification_failure', at(T0 + i)),
          ),
          ...Array.from({ length: 50 }, (_, i) => store().recordOutcome('wh_conc2', 'failure', at(T0 + i))),
        ]);
        const one = await store().getCounters('wh_conc');
        expect(one.processedEventCount).toBe(300);
        expect(one.verificationFailureCount).toBe(120);
        expect(one.failureCount).toBe(0);
        const two = await store().getCounters('wh_conc2');
        expect(two).toMatchObject({ processedEventCount: 0, failureCount: 50, verificationFailureCount: 0 });
        // Counters live apart from the document: the registration's etag did not move.
        const before = await store().get('wh_conc');
        await store().recordOutcome('wh_conc', 'success', at(T0));
        expect((await store().get('wh_conc'))?.etag).toBe(before?.etag);
      });

      it('getCounters of an unknown registration is zero, and recordOutcome on it is a no-op', async () => {
        await store().recordOutcome('wh_ghost', 'success', at(T0));
        expect(await store().getCounters('wh_ghost')).toEqual(zeroCounters);
        expect(await store().get('wh_ghost')).toBeNull();
      });

      it('hostile registration ids are not found and never act as query text', async () => {
        await store().create(registration({ id: 'wh_real' }));
        await store().append(delivery({ id: 'dlv_real', registrationId: 'wh_real' }));
        for (const id of HOSTILE_IDS) {
          expect(await store().get(id), JSON.stringify(id.slice(0, 40))).toBeNull();
          await expect(store().delete(id)).resolves.toBeUndefined();
          await expectCode(store().update(registration({ id })), 'not_found');
          expect(await store().getCounters(id)).toEqual(zeroCounters);
          await expect(store().recordOutcome(id, 'success', at(T0))).resolves.toBeUndefined();
          expect(await store().listDeliveries(id, 10)).toEqual([]);
          expect(await store().getDelivery(id)).toBeNull();
        }
        expect(await store().get('wh_real')).not.toBeNull();
        expect(await store().getDelivery('dlv_real')).not.toBeNull();
        expect(await store().counts()).toEqual({ total: 1, failed: 0 });
        expect(await store().getCounters('wh_real')).toEqual(zeroCounters);
      });
    });

    describe('DeliveryStore', () => {
      it('claimDedupeKey: the first claim wins, a repeat is in progress, other registrations are separate', async () => {
        expect(await store().claimDedupeKey('wh_1', 'id:d-1', 60_000, at(T0))).toBe('claimed');
        expect(await store().claimDedupeKey('wh_1', 'id:d-1', 60_000, at(T0 + 1))).toBe('in_progress');
        expect(await store().claimDedupeKey('wh_2', 'id:d-1', 60_000, at(T0 + 1))).toBe('claimed');
        expect(await store().claimDedupeKey('wh_1', 'id:d-2', 60_000, at(T0 + 1))).toBe('claimed');
        expect(await store().claimDedupeKey('wh_1', `id:${UNICODE}`, 60_000, at(T0 + 1))).toBe('claimed');
        expect(await store().claimDedupeKey('wh_1', `id:${UNICODE}`, 60_000, at(T0 + 2))).toBe('in_progress');
      });

      it('dedupe keys are values: injection text and near-identical keys are distinct claims', async () => {
        const keys = ["id:' OR 1=1 --", 'id:{"$ne":null}', 'id:%', 'id:_', 'id:D-1', 'id:d-1', 'id:d-1 ', 'sha256:ab'];
        for (const key of keys) expect(await store().claimDedupeKey('wh_1', key, 60_000, at(T0)), key).toBe('claimed');
        for (const key of keys) {
          expect(await store().claimDedupeKey('wh_1', key, 60_000, at(T0)), key).toBe('in_progress');
        }
        await store().append(delivery({ id: 'dlv_keys', registrationId: 'wh_1', dedupeKeys: keys }), [], {
          keys,
          expiresAt: new Date(T0 + WEEK),
        });
        for (const key of keys)
          expect(await store().claimDedupeKey('wh_1', key, 60_000, at(T0)), key).toBe('duplicate');
      });

      it('append with commit makes the claim committed: a repeat is a duplicate, not in progress', async () => {
        expect(await store().claimDedupeKey('wh_1', 'id:c', 60_000, at(T0))).toBe('claimed');
        await store().append(delivery({ id: 'dlv_c', registrationId: 'wh_1', dedupeKeys: ['id:c'] }), [], {
          keys: ['id:c'],
          expiresAt: new Date(T0 + WEEK),
        });
        expect(await store().claimDedupeKey('wh_1', 'id:c', 60_000, at(T0 + 1))).toBe('duplicate');
        // The commit, not the lease, decides its life now: long after the lease, still a duplicate.
        expect(await store().claimDedupeKey('wh_1', 'id:c', 60_000, at(T0 + 60_000))).toBe('duplicate');
        expect(await store().claimDedupeKey('wh_1', 'id:c', 60_000, at(T0 + WEEK - 1))).toBe('duplicate');
        // Another registration's claim on the same key is untouched.
        expect(await store().claimDedupeKey('wh_2', 'id:c', 60_000, at(T0 + 2))).toBe('claimed');
      });

      it('append without commit leaves its claims pending (duplicate and rejection records)', async () => {
        expect(await store().claimDedupeKey('wh_1', 'id:p', 60_000, at(T0))).toBe('claimed');
        await store().append(
          delivery({ id: 'dlv_dup', registrationId: 'wh_1', outcome: 'duplicate', dedupeKeys: ['id:p'] }),
        );
        expect(await store().claimDedupeKey('wh_1', 'id:p', 60_000, at(T0 + 1))).toBe('in_progress');
      });

      it('append with commit for a key never claimed creates it committed', async () => {
        await store().append(
          delivery({ id: 'dlv_new', registrationId: 'wh_1', dedupeKeys: ['id:unclaimed-1', 'id:unclaimed-2'] }),
          [],
          { keys: ['id:unclaimed-1', 'id:unclaimed-2'], expiresAt: new Date(T0 + WEEK) },
        );
        expect(await store().getDelivery('dlv_new')).not.toBeNull();
        expect(await store().claimDedupeKey('wh_1', 'id:unclaimed-1', 60_000, at(T0))).toBe('duplicate');
        expect(await store().claimDedupeKey('wh_1', 'id:unclaimed-2', 60_000, at(T0))).toBe('duplicate');
      });

      it('append commits every key of a large batch delivery, with its tasks', { timeout: slow }, async () => {
        // More keys and tasks than one Cosmos transactional batch holds (100 operations).
        const keys = Array.from({ length: 150 }, (_, i) => `id:batch-${i}`);
        for (const key of keys.slice(0, 75))
          expect(await store().claimDedupeKey('wh_1', key, 60_000, at(T0))).toBe('claimed');
        const tasks = Array.from({ length: 60 }, (_, i) =>
          outboxTask({ id: `task_batch_${i}`, availableAt: new Date(T0) }),
        );
        await store().append(delivery({ id: 'dlv_batch', registrationId: 'wh_1', dedupeKeys: keys }), tasks, {
          keys,
          expiresAt: new Date(T0 + WEEK),
        });
        expect(await store().getDelivery('dlv_batch')).not.toBeNull();
        const answers = await Promise.all(keys.map((key) => store().claimDedupeKey('wh_1', key, 60_000, at(T0 + 1))));
        expect(answers.every((a) => a === 'duplicate')).toBe(true);
      });

      it('100 concurrent claims of one key: exactly one claimed, the rest in progress', { timeout: slow }, async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, () => store().claimDedupeKey('wh_1', 'id:contended', 60_000, at(T0))),
        );
        expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
        expect(results.filter((r) => r === 'in_progress')).toHaveLength(99);
        const distinct = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store().claimDedupeKey('wh_1', `id:k${i}`, 60_000, at(T0))),
        );
        expect(distinct.every((r) => r === 'claimed')).toBe(true);
      });

      it('releaseDedupeKey deletes a pending or a committed claim, and releasing an unknown key succeeds', async () => {
        expect(await store().claimDedupeKey('wh_1', 'id:r', 60_000, at(T0))).toBe('claimed');
        await store().releaseDedupeKey('wh_1', 'id:r');
        expect(await store().claimDedupeKey('wh_1', 'id:r', 60_000, at(T0 + 1))).toBe('claimed');
        expect(await store().claimDedupeKey('wh_1', 'id:r', 60_000, at(T0 + 2))).toBe('in_progress');
        await store().append(delivery({ id: 'dlv_r', registrationId: 'wh_1', dedupeKeys: ['id:r'] }), [], {
          keys: ['id:r'],
          expiresAt: new Date(T0 + WEEK),
        });
        expect(await store().claimDedupeKey('wh_1', 'id:r', 60_000, at(T0 + 3))).toBe('duplicate');
        await store().releaseDedupeKey('wh_1', 'id:r');
        expect(await store().claimDedupeKey('wh_1', 'id:r', 60_000, at(T0 + 4))).toBe('claimed');
        await expect(store().releaseDedupeKey('wh_1', 'id:never')).resolves.toBeUndefined();
      });

      it.skipIf(options.expiry === false)(
        'a pending claim expires after its lease (a crashed holder), then exactly one caller re-claims it',
        async () => {
          expect(await store().claimDedupeKey('wh_1', 'id:e', 1000, at(T0))).toBe('claimed');
          expect(await store().claimDedupeKey('wh_1', 'id:e', 1000, at(T0 + 999))).toBe('in_progress');
          const reclaims = await Promise.all(
            Array.from({ length: 20 }, () => store().claimDedupeKey('wh_1', 'id:e', 1000, at(T0 + 1000))),
          );
          expect(reclaims.filter((r) => r === 'claimed')).toHaveLength(1);
          expect(reclaims.filter((r) => r === 'in_progress')).toHaveLength(19);
          // The new claim runs from its own time.
          expect(await store().claimDedupeKey('wh_1', 'id:e', 1000, at(T0 + 1999))).toBe('in_progress');
          expect(await store().claimDedupeKey('wh_1', 'id:e', 1000, at(T0 + 2000))).toBe('claimed');
        },
      );

      it.skipIf(options.expiry === false)(
        'a committed claim expires at its expiresAt, then it can be claimed (pending) again',
        async () => {
          expect(await store().claimDedupeKey('wh_1', 'id:x', 1000, at(T0))).toBe('claimed');
          await store().append(delivery({ id: 'dlv_x', registrationId: 'wh_1', dedupeKeys: ['id:x'] }), [], {
            keys: ['id:x'],
            expiresAt: new Date(T0 + 5000),
          });
          expect(await store().claimDedupeKey('wh_1', 'id:x', 1000, at(T0 + 4999))).toBe('duplicate');
          expect(await store().claimDedupeKey('wh_1', 'id:x', 1000, at(T0 + 5000))).toBe('claimed');
          expect(await store().claimDedupeKey('wh_1', 'id:x', 1000, at(T0 + 5001))).toBe('in_progress');
        },
      );

      it('append then getDelivery returns the record exactly: dates, bytes, headers, unicode', async () => {
        const record = delivery({
          id: 'dlv_full',
          registrationId: 'wh_1',
          body: allBytes(),
          bodyTruncated: true,
          proofRedacted: true,
          url: `https://hooks.example.com/webhooks/wh_1?q=${encodeURIComponent(UNICODE)}`,
          method: 'POST',
          reason: 'signature_mismatch',
          secretIndex: 0,
          diagnostics: {
            signatureHeaders: ['x-hub-signature-256'],
            bodyLength: 256,
            contentType: 'application/json; charset=utf-8',
            timestampSkewSeconds: -12.5,
          },
          replayOf: 'dlv_original',
          durationMs: 1.25,
        });
        await store().append(record);
        const got = await store().getDelivery('dlv_full');
        expect(got).not.toBeNull();
        expectSameBytes(got!.body, record.body);
        expect({ ...got!, body: null }).toEqual({ ...record, body: null });
        expect(got!.receivedAt).toBeInstanceOf(Date);
        expect(got!.receivedAt.getTime()).toBe(record.receivedAt.getTime());
      });

      it('keeps optional delivery fields absent and an empty body empty', async () => {
        const record: DeliveryRecord = {
          id: 'dlv_min',
          registrationId: 'wh_1',
          tenantId: 'tenant-1',
          receivedAt: new Date(T0),
          headers: {},
          body: new Uint8Array(0),
          outcome: 'duplicate',
          events: [],
          dedupeKeys: [],
          syncTriggered: false,
        };
        await store().append(record);
        const got = await store().getDelivery('dlv_min');
        expect(got?.body.byteLength).toBe(0);
        expect({ ...got!, body: null }).toEqual({ ...record, body: null });
        expect(got?.secretIndex).toBeUndefined();
        expect(got?.diagnostics).toBeUndefined();
      });

      it('getDelivery returns null for unknown and hostile ids', async () => {
        expect(await store().getDelivery('dlv_missing')).toBeNull();
        for (const id of HOSTILE_IDS) expect(await store().getDelivery(id)).toBeNull();
      });

      it('listDeliveries is newest first, limited, and per registration', async () => {
        const outcomes = ['accepted', 'rejected', 'duplicate', 'rejected', 'accepted', 'queued'] as const;
        for (const [i, outcome] of outcomes.entries()) {
          await store().append(
            delivery({ id: `dlv_${i}`, registrationId: 'wh_1', outcome, receivedAt: new Date(T0 + i * 1000) }),
          );
        }
        await store().append(delivery({ id: 'dlv_other', registrationId: 'wh_2', receivedAt: new Date(T0 + 99_000) }));
        const three = await store().listDeliveries('wh_1', 3);
        expect(three.map((d) => d.id)).toEqual(['dlv_5', 'dlv_4', 'dlv_3']);
        const all = await store().listDeliveries('wh_1', 100);
        expect(all.map((d) => d.id)).toEqual(['dlv_5', 'dlv_4', 'dlv_3', 'dlv_2', 'dlv_1', 'dlv_0']);
        expect(all.map((d) => d.outcome)).toEqual([...outcomes].reverse());
        expectSameBytes(all[0]!.body, (await store().getDelivery('dlv_5'))!.body);
        expect(await store().listDeliveries('wh_none', 10)).toEqual([]);
      });

      it('recentOutcomes (optional): the newest outcomes of the kinds asked for, past any others', async (ctx) => {
        const recent = store().recentOutcomes?.bind(store());
        if (!recent) return ctx.skip('the store has no recentOutcomes');
        const outcomes = ['invalid_payload', 'accepted', 'rejected', 'queued', 'duplicate', 'accepted'] as const;
        for (const [i, outcome] of outcomes.entries()) {
          await store().append(
            delivery({ id: `dlv_o${i}`, registrationId: 'wh_1', outcome, receivedAt: new Date(T0 + i * 1000) }),
          );
        }
        // A flood of rejected junk after them does not push them out of the window.
        for (let i = 0; i < 20; i++) {
          await store().append(
            delivery({
              id: `dlv_junk${i}`,
              registrationId: 'wh_1',
              outcome: 'rejected',
              receivedAt: new Date(T0 + 10_000 + i),
            }),
          );
        }
        await store().append(
          delivery({ id: 'dlv_o_other', registrationId: 'wh_2', receivedAt: new Date(T0 + 99_000) }),
        );
        const counted = ['accepted', 'queued', 'invalid_payload'] as const;
        expect(await recent('wh_1', counted, 10)).toEqual(['accepted', 'queued', 'accepted', 'invalid_payload']);
        expect(await recent('wh_1', counted, 2)).toEqual(['accepted', 'queued']);
        expect(await recent('wh_1', ['rejected'], 3)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(await recent('wh_1', [], 10)).toEqual([]);
        expect(await recent('wh_1', counted, 0)).toEqual([]);
        expect(await recent('wh_none', counted, 10)).toEqual([]);
        for (const id of HOSTILE_IDS) expect(await recent(id, counted, 10)).toEqual([]);
      });

      it('orders deliveries that arrived in the same millisecond by when they were appended', async () => {
        const outcomes = ['accepted', 'rejected', 'accepted', 'rejected', 'queued'] as const;
        for (const [i, outcome] of outcomes.entries()) {
          await store().append(
            delivery({ id: `dlv_same${i}`, registrationId: 'wh_1', outcome, receivedAt: new Date(T0) }),
          );
        }
        const listed = await store().listDeliveries('wh_1', 10);
        expect(listed.map((d) => d.id)).toEqual(['dlv_same4', 'dlv_same3', 'dlv_same2', 'dlv_same1', 'dlv_same0']);
        const recent = store().recentOutcomes?.bind(store());
        if (recent) {
          expect(await recent('wh_1', ['accepted', 'queued', 'rejected'], 3)).toEqual([
            'queued',
            'rejected',
            'accepted',
          ]);
        }
      });

      it('keeps only the newest 100 rejected deliveries per registration, and every other kind', async () => {
        for (let i = 0; i < 3; i++) {
          await store().append(delivery({ id: `dlv_ok${i}`, registrationId: 'wh_1', receivedAt: new Date(T0 + i) }));
        }
        for (let i = 0; i < 105; i++) {
          await store().append(
            delivery({
              id: `dlv_rej${i}`,
              registrationId: 'wh_1',
              outcome: 'rejected',
              receivedAt: new Date(T0 + 1000 + i),
            }),
          );
        }
        await store().append(delivery({ id: 'dlv_rej_other', registrationId: 'wh_2', outcome: 'rejected' }));
        const all = await store().listDeliveries('wh_1', 1000);
        const rejected = all.filter((d) => d.outcome === 'rejected');
        expect(rejected).toHaveLength(100);
        expect(rejected[0]!.id).toBe('dlv_rej104');
        expect(rejected[99]!.id).toBe('dlv_rej5');
        expect(all.filter((d) => d.outcome !== 'rejected').map((d) => d.id)).toEqual(['dlv_ok2', 'dlv_ok1', 'dlv_ok0']);
        for (let i = 0; i < 5; i++) expect(await store().getDelivery(`dlv_rej${i}`)).toBeNull();
        expect(await store().getDelivery('dlv_rej5')).not.toBeNull();
        expect(await store().getDelivery('dlv_rej_other')).not.toBeNull();
      });

      it('a 25 MB raw body round-trips byte for byte', { timeout: slow }, async () => {
        const body = new Uint8Array(25 * 1024 * 1024);
        for (let i = 0; i < body.length; i += 4096) body[i] = (i / 4096) % 256;
        body[body.length - 1] = 0xff;
        await store().append(delivery({ id: 'dlv_big', registrationId: 'wh_1', body }));
        const got = await store().getDelivery('dlv_big');
        expect(got?.body.byteLength).toBe(body.byteLength);
        expectSameBytes(got!.body, body);
        const listed = await store().listDeliveries('wh_1', 1);
        expect(listed[0]?.body.byteLength).toBe(body.byteLength);
      });

      it('the stored record does not change when the caller mutates what it appended', async () => {
        const record = delivery({ id: 'dlv_mut', registrationId: 'wh_1', body: new Uint8Array([1, 2, 3]) });
        await store().append(record);
        record.body[0] = 9;
        record.headers.added = 'later';
        const got = await store().getDelivery('dlv_mut');
        expect([...got!.body]).toEqual([1, 2, 3]);
        expect(got!.headers.added).toBeUndefined();
        // A Buffer too (its slice is a view, not a copy), as HTTP servers hand bodies over.
        const buffer = Buffer.from([4, 5, 6]);
        await store().append(delivery({ id: 'dlv_mut_buffer', registrationId: 'wh_1', body: buffer }));
        buffer[0] = 9;
        expect([...(await store().getDelivery('dlv_mut_buffer'))!.body]).toEqual([4, 5, 6]);
      });

      describe('appendFresh (optional: the one-write receive)', () => {
        const fresh = (
          keys: string[],
          now = T0,
          countSuccess = true,
        ): { commit: { keys: string[]; expiresAt: Date }; now: Date; countSuccess: boolean } => ({
          commit: { keys, expiresAt: new Date(now + WEEK) },
          now: at(now),
          countSuccess,
        });
        const appendFresh = (ctx: { skip: (note?: string) => never }): NonNullable<DeliveryStore['appendFresh']> => {
          const method = store().appendFresh;
          if (typeof method !== 'function') return ctx.skip('the store has no appendFresh');
          return method.bind(store());
        };

        it('stores the delivery, its tasks and committed claims, and counts the success', async (ctx) => {
          const write = appendFresh(ctx);
          await store().create(registration({ id: 'wh_1' }));
          const record = delivery({ id: 'dlv_f1', registrationId: 'wh_1', dedupeKeys: ['id:f1', 'id:f2'] });
          const tasks = options.outbox === false ? [] : [outboxTask({ id: 'task_f1', availableAt: new Date(T0) })];
          const result = await write(record, tasks, fresh(['id:f1', 'id:f2'], T0 + 5));
          expect(result.status).toBe('stored');
          expect(await store().getDelivery('dlv_f1')).toMatchObject({ id: 'dlv_f1', dedupeKeys: ['id:f1', 'id:f2'] });
          for (const key of ['id:f1', 'id:f2'])
            expect(await store().claimDedupeKey('wh_1', key, 60_000, at(T0 + WEEK - 1)), key).toBe('duplicate');
          if (options.outbox !== false) expect((await outbox().listOutbox()).map((t) => t.id)).toEqual(['task_f1']);
          const counters = await store().getCounters('wh_1');
          if (result.counted) {
            expect(counters).toMatchObject({ processedEventCount: 1, failureCount: 0 });
            expect(counters.lastEventAt).toEqual(new Date(T0 + 5));
          } else {
            expect(counters.processedEventCount).toBe(0);
          }
        });

        it('countSuccess false counts nothing', async (ctx) => {
          const write = appendFresh(ctx);
          await store().create(registration({ id: 'wh_1' }));
          const result = await write(
            delivery({ id: 'dlv_nc', registrationId: 'wh_1' }),
            [],
            fresh(['id:nc'], T0, false),
          );
          expect(result).toEqual({ status: 'stored', counted: false });
          expect((await store().getCounters('wh_1')).processedEventCount).toBe(0);
        });

        it('a key already pending or committed: conflict, and nothing at all is written', async (ctx) => {
          const write = appendFresh(ctx);
          await store().create(registration({ id: 'wh_1' }));
          expect(await store().claimDedupeKey('wh_1', 'id:held', 60_000, at(T0))).toBe('claimed');
          await store().append(delivery({ id: 'dlv_done', registrationId: 'wh_1', dedupeKeys: ['id:done'] }), [], {
            keys: ['id:done'],
            expiresAt: new Date(T0 + WEEK),
          });
          for (const taken of ['id:held', 'id:done']) {
            const id = `dlv_x_${taken.slice(3)}`;
            const tasks = options.outbox === false ? [] : [outboxTask({ id: `task_${id}`, availableAt: new Date(T0) })];
            const result = await write(
              delivery({ id, registrationId: 'wh_1', dedupeKeys: ['id:free', taken] }),
              tasks,
              fresh(['id:free', taken], T0 + 1),
            );
            expect(result.status, taken).toBe('conflict');
            expect(await store().getDelivery(id)).toBeNull();
          }
          // The other key of the refused deliveries was not claimed either.
          expect(await store().claimDedupeKey('wh_1', 'id:free', 60_000, at(T0 + 2))).toBe('claimed');
          expect(await store().claimDedupeKey('wh_1', 'id:held', 60_000, at(T0 + 2))).toBe('in_progress');
          expect(await store().claimDedupeKey('wh_1', 'id:done', 60_000, at(T0 + 2))).toBe('duplicate');
          expect((await store().getCounters('wh_1')).processedEventCount).toBe(0);
          if (options.outbox !== false) expect(await outbox().listOutbox()).toEqual([]);
        });

        it('other registrations and other keys are independent', async (ctx) => {
          const write = appendFresh(ctx);
          await write(delivery({ id: 'dlv_i1', registrationId: 'wh_1' }), [], fresh(['id:same']));
          const other = await write(delivery({ id: 'dlv_i2', registrationId: 'wh_2' }), [], fresh(['id:same']));
          expect(other.status).toBe('stored');
          const injection = await write(
            delivery({ id: 'dlv_i3', registrationId: 'wh_1' }),
            [],
            fresh(["id:' OR 1=1 --", 'id:{"$ne":null}']),
          );
          expect(injection.status).toBe('stored');
        });

        it.skipIf(options.expiry === false)(
          'a claim whose lease ran out is taken over, or refused as a conflict with nothing written',
          async (ctx) => {
            const write = appendFresh(ctx);
            expect(await store().claimDedupeKey('wh_1', 'id:lapsed', 1000, at(T0))).toBe('claimed');
            const result = await write(
              delivery({ id: 'dlv_lapsed', registrationId: 'wh_1', dedupeKeys: ['id:lapsed'] }),
              [],
              fresh(['id:lapsed'], T0 + 1000),
            );
            if (result.status === 'stored') {
              expect(await store().getDelivery('dlv_lapsed')).not.toBeNull();
              expect(await store().claimDedupeKey('wh_1', 'id:lapsed', 1000, at(T0 + 2000))).toBe('duplicate');
            } else {
              expect(await store().getDelivery('dlv_lapsed')).toBeNull();
              expect(await store().claimDedupeKey('wh_1', 'id:lapsed', 1000, at(T0 + 2000))).toBe('claimed');
            }
          },
        );

        it('50 concurrent fresh appends of one key: exactly one stored', { timeout: slow }, async (ctx) => {
          const write = appendFresh(ctx);
          await store().create(registration({ id: 'wh_1' }));
          const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              write(delivery({ id: `dlv_race_${i}`, registrationId: 'wh_1' }), [], fresh(['id:race'])),
            ),
          );
          expect(results.filter((r) => r.status === 'stored')).toHaveLength(1);
          expect(results.filter((r) => r.status === 'conflict')).toHaveLength(49);
          const stored = await Promise.all(results.map((_, i) => store().getDelivery(`dlv_race_${i}`)));
          expect(stored.filter((d) => d !== null)).toHaveLength(1);
          if (results.some((r) => r.counted)) expect((await store().getCounters('wh_1')).processedEventCount).toBe(1);
        });
      });
    });

    describe.skipIf(options.outbox === false)('OutboxStore', () => {
      it('append writes the delivery and its tasks: pending, or leased for the inline dispatch', async () => {
        const receivedAt = new Date(T0);
        await store().append(delivery({ id: 'dlv_t', registrationId: 'wh_1', receivedAt }), [
          outboxTask({ id: 'task_pending', availableAt: new Date(T0) }),
          outboxTask({ id: 'task_leased', availableAt: new Date(T0), leasedUntil: new Date(T0 + 30_000) }),
        ]);
        const tasks = await outbox().listOutbox();
        const byId = new Map(tasks.map((t) => [t.id, t]));
        expect(byId.get('task_pending')).toMatchObject({
          status: 'pending',
          attempts: 0,
          createdAt: receivedAt,
          maxAttempts: 3,
        });
        expect(byId.get('task_leased')).toMatchObject({
          status: 'leased',
          attempts: 0,
          leasedUntil: new Date(T0 + 30_000),
        });
        expect(byId.get('task_pending')?.task).toEqual(syncTask());
        expect(byId.get('task_pending')?.availableAt).toEqual(new Date(T0));
        expect(byId.get('task_pending')?.createdAt).toBeInstanceOf(Date);
        expect(await store().getDelivery('dlv_t')).not.toBeNull();
      });

      it('claimDue leases due pending tasks once, up to the limit', async () => {
        await store().append(
          delivery({ id: 'dlv_c', registrationId: 'wh_1' }),
          Array.from({ length: 5 }, (_, i) => outboxTask({ id: `task_${i}`, availableAt: new Date(T0 - 1000 + i) })),
        );
        const first = await outbox().claimDue(at(T0), 3, 10_000);
        expect(first).toHaveLength(3);
        for (const task of first) {
          expect(task.status).toBe('leased');
          expect(task.leasedUntil).toEqual(new Date(T0 + 10_000));
          expect(task.task).toEqual(syncTask());
        }
        const second = await outbox().claimDue(at(T0), 10, 10_000);
        expect(second).toHaveLength(2);
        expect(new Set([...first, ...second].map((t) => t.id)).size).toBe(5);
        expect(await outbox().claimDue(at(T0 + 9_999), 10, 10_000)).toEqual([]);
      });

      it('a task whose lease expired is claimed again; one still leased is not', async () => {
        await store().append(delivery({ id: 'dlv_l', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_inline', availableAt: new Date(T0), leasedUntil: new Date(T0 + 30_000) }),
        ]);
        expect(await outbox().claimDue(at(T0 + 29_999), 10, 5_000)).toEqual([]);
        const claimed = await outbox().claimDue(at(T0 + 30_000), 10, 5_000);
        expect(claimed.map((t) => t.id)).toEqual(['task_inline']);
        expect(claimed[0]!.leasedUntil).toEqual(new Date(T0 + 35_000));
        expect(await outbox().claimDue(at(T0 + 34_999), 10, 5_000)).toEqual([]);
        expect((await outbox().claimDue(at(T0 + 35_000), 10, 5_000)).map((t) => t.id)).toEqual(['task_inline']);
      });

      it('a task available in the future is not claimed before its time', async () => {
        await store().append(delivery({ id: 'dlv_f', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_later', availableAt: new Date(T0 + 60_000) }),
        ]);
        expect(await outbox().claimDue(at(T0), 10, 1000)).toEqual([]);
        expect(await outbox().claimDue(at(T0 + 59_999), 10, 1000)).toEqual([]);
        expect((await outbox().claimDue(at(T0 + 60_000), 10, 1000)).map((t) => t.id)).toEqual(['task_later']);
      });

      it('concurrent claimDue calls never hand out the same task twice', { timeout: slow }, async () => {
        await store().append(
          delivery({ id: 'dlv_cc', registrationId: 'wh_1' }),
          Array.from({ length: 40 }, (_, i) => outboxTask({ id: `task_cc${i}`, availableAt: new Date(T0) })),
        );
        const batches = await Promise.all(Array.from({ length: 8 }, () => outbox().claimDue(at(T0), 10, 60_000)));
        const ids = batches.flat().map((t) => t.id);
        expect(ids).toHaveLength(40);
        expect(new Set(ids).size).toBe(40);
      });

      it('complete takes the task out of the work: never claimed again, retry says done', async () => {
        await store().append(delivery({ id: 'dlv_done', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_done', availableAt: new Date(T0) }),
        ]);
        await outbox().claimDue(at(T0), 10, 1000);
        await outbox().complete('task_done');
        expect(await outbox().claimDue(at(T0 + 10_000), 10, 1000)).toEqual([]);
        expect(await outbox().listOutbox({ status: 'pending' })).toEqual([]);
        expect(await outbox().listOutbox({ status: 'leased' })).toEqual([]);
        expect(await outbox().retry('task_done', 'late failure', new Date(T0))).toBe('done');
        expect(await outbox().outboxStats(at(T0))).toMatchObject({ pending: 0, dead: 0 });
        await expect(outbox().complete('task_done')).resolves.toBeUndefined();
        await expect(outbox().complete('task_unknown')).resolves.toBeUndefined();
      });

      it('retry counts the attempt, waits until availableAt, and is dead after maxAttempts', async () => {
        await store().append(delivery({ id: 'dlv_r', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_r', availableAt: new Date(T0), maxAttempts: 2 }),
        ]);
        await outbox().claimDue(at(T0), 10, 1000);
        expect(await outbox().retry('task_r', `queue down: ${UNICODE}`, new Date(T0 + 5000))).toBe('pending');
        const [pending] = await outbox().listOutbox({ status: 'pending' });
        expect(pending).toMatchObject({
          id: 'task_r',
          attempts: 1,
          lastError: `queue down: ${UNICODE}`,
          availableAt: new Date(T0 + 5000),
        });
        expect(pending?.leasedUntil).toBeUndefined();
        expect(await outbox().claimDue(at(T0 + 4999), 10, 1000)).toEqual([]);
        expect((await outbox().claimDue(at(T0 + 5000), 10, 1000)).map((t) => t.id)).toEqual(['task_r']);
        expect(await outbox().retry('task_r', 'still down', new Date(T0 + 10_000))).toBe('dead');
        expect(await outbox().claimDue(at(T0 + 60_000), 10, 1000)).toEqual([]);
        const [dead] = await outbox().listOutbox({ status: 'dead' });
        expect(dead).toMatchObject({ id: 'task_r', status: 'dead', attempts: 2, lastError: 'still down' });
        expect(await outbox().retry('task_r', 'again', new Date(T0))).toBe('dead');
        expect(await outbox().retry('task_unknown', 'x', new Date(T0))).toBe('done');
      });

      it('listOutbox filters by tenant, integration and status, and limits', async () => {
        await store().append(delivery({ id: 'dlv_lo', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_a', availableAt: new Date(T0) }),
          outboxTask({ id: 'task_b', availableAt: new Date(T0), task: { tenantId: 'tenant-2' } }),
          outboxTask({ id: 'task_c', availableAt: new Date(T0), task: { integrationId: 'slack' } }),
          outboxTask({ id: 'task_d', availableAt: new Date(T0), leasedUntil: new Date(T0 + 1000) }),
          outboxTask({ id: 'task_e', availableAt: new Date(T0), task: { tenantId: `租户-${UNICODE}` } }),
        ]);
        const ids = async (o: Parameters<OutboxStore['listOutbox']>[0]) =>
          (await outbox().listOutbox(o)).map((t) => t.id).sort();
        expect(await ids({})).toEqual(['task_a', 'task_b', 'task_c', 'task_d', 'task_e']);
        expect(await ids({ tenantId: 'tenant-1' })).toEqual(['task_a', 'task_c', 'task_d']);
        expect(await ids({ tenantId: `租户-${UNICODE}` })).toEqual(['task_e']);
        expect(await ids({ integrationId: 'slack' })).toEqual(['task_c']);
        expect(await ids({ status: 'leased' })).toEqual(['task_d']);
        expect(await ids({ tenantId: 'tenant-1', integrationId: 'github', status: 'pending' })).toEqual(['task_a']);
        expect(await outbox().listOutbox({ limit: 2 })).toHaveLength(2);
        expect(await ids({ tenantId: "' OR 1=1 --" })).toEqual([]);
      });

      it('outboxStats counts pending (and leased) and dead tasks, and the oldest pending age', async () => {
        expect(await outbox().outboxStats(at(T0))).toEqual({ pending: 0, dead: 0, oldestPendingAgeMs: 0 });
        await store().append(delivery({ id: 'dlv_s1', registrationId: 'wh_1', receivedAt: new Date(T0) }), [
          outboxTask({ id: 'task_s1', availableAt: new Date(T0), maxAttempts: 1 }),
        ]);
        await store().append(delivery({ id: 'dlv_s2', registrationId: 'wh_1', receivedAt: new Date(T0 + 1000) }), [
          outboxTask({ id: 'task_s2', availableAt: new Date(T0 + 1000) }),
          outboxTask({ id: 'task_s3', availableAt: new Date(T0 + 1000), leasedUntil: new Date(T0 + 5000) }),
        ]);
        expect(await outbox().outboxStats(at(T0 + 10_000))).toEqual({
          pending: 3,
          dead: 0,
          oldestPendingAgeMs: 10_000,
        });
        expect(await outbox().retry('task_s1', 'boom', new Date(T0))).toBe('dead');
        expect(await outbox().outboxStats(at(T0 + 10_000))).toEqual({ pending: 2, dead: 1, oldestPendingAgeMs: 9000 });
      });
      it('publish tasks are their own kind: listed, claimed and counted apart from sync tasks', async () => {
        const event = publishedEvent('msg-task_p');
        await store().append(delivery({ id: 'dlv_p', registrationId: 'wh_1' }), [
          outboxTask({ id: 'task_s', availableAt: new Date(T0) }),
          { ...outboxTask({ id: 'task_p', availableAt: new Date(T0) }), kind: 'publish', event },
        ]);
        expect((await outbox().listOutbox()).map((t) => [t.id, t.kind])).toEqual([['task_s', 'sync']]);
        expect((await outbox().listOutbox({ kind: 'sync' })).map((t) => t.id)).toEqual(['task_s']);
        const [listed] = await outbox().listOutbox({ kind: 'publish' });
        expect(listed).toMatchObject({ id: 'task_p', kind: 'publish', status: 'pending' });
        expect(listed?.event).toEqual(event);
        expect(listed?.event?.eventTime).toBeInstanceOf(Date);
        expect(await outbox().outboxStats(at(T0))).toMatchObject({ pending: 2 });

        const sync = await outbox().claimDue(at(T0), 10, 1000);
        expect(sync.map((t) => [t.id, t.kind])).toEqual([['task_s', 'sync']]);
        expect(sync[0]?.event).toBeUndefined();
        const publish = await outbox().claimDue(at(T0), 10, 1000, 'publish');
        expect(publish.map((t) => [t.id, t.kind])).toEqual([['task_p', 'publish']]);
        expect(publish[0]?.event).toEqual(event);
        expect(await outbox().claimDue(at(T0), 10, 1000, 'publish')).toEqual([]);
        expect(await outbox().retry('task_p', 'event grid down', new Date(T0 + 5000))).toBe('pending');
        expect((await outbox().claimDue(at(T0 + 5000), 10, 1000, 'publish')).map((t) => t.id)).toEqual(['task_p']);
      });

      it('completeMany (optional) completes every listed task and ignores unknown ids', async (ctx) => {
        const completeMany = outbox().completeMany;
        if (typeof completeMany !== 'function') return ctx.skip('the store has no completeMany');
        await store().append(
          delivery({ id: 'dlv_m', registrationId: 'wh_1' }),
          Array.from({ length: 5 }, (_, i) => outboxTask({ id: `task_m${i}`, availableAt: new Date(T0) })),
        );
        await completeMany.call(outbox(), ['task_m0', 'task_m2', 'task_m4', 'task_unknown']);
        await completeMany.call(outbox(), []);
        expect((await outbox().listOutbox()).map((t) => t.id).sort()).toEqual(['task_m1', 'task_m3']);
        expect((await outbox().claimDue(at(T0), 10, 1000)).map((t) => t.id).sort()).toEqual(['task_m1', 'task_m3']);
      });
    });

    describe.skipIf(options.apiKeys === false)('ApiKeyStore', () => {
      it('createApiKey then findApiKeyByHash returns the record exactly', async () => {
        const record = apiKey({ id: 'key_1', name: `ops ${UNICODE}` });
        await apiKeys().createApiKey(record);
        const found = await apiKeys().findApiKeyByHash(record.keyHash);
        expect(found).toEqual(record);
        expect(found?.createdAt).toBeInstanceOf(Date);
        expect(await apiKeys().findApiKeyByHash('0'.repeat(64))).toBeNull();
        expect(await apiKeys().findApiKeyByHash("' OR 1=1 --")).toBeNull();
      });

      it('createApiKey fails with conflict on a repeated id or hash', async () => {
        await apiKeys().createApiKey(apiKey({ id: 'key_1', keyHash: hash('a') }));
        await expectCode(apiKeys().createApiKey(apiKey({ id: 'key_1', keyHash: hash('b') })), 'conflict');
        await expectCode(apiKeys().createApiKey(apiKey({ id: 'key_2', keyHash: hash('a') })), 'conflict');
        expect(await apiKeys().findApiKeyByHash(hash('b'))).toBeNull();
      });

      it('listApiKeys returns the tenant keys only', async () => {
        await apiKeys().createApiKey(apiKey({ id: 'key_1', tenantId: 't1', keyHash: hash('1') }));
        await apiKeys().createApiKey(apiKey({ id: 'key_2', tenantId: 't2', keyHash: hash('2') }));
        await apiKeys().createApiKey(apiKey({ id: 'key_3', tenantId: 't1', keyHash: hash('3') }));
        expect((await apiKeys().listApiKeys('t1')).map((k) => k.id).sort()).toEqual(['key_1', 'key_3']);
        expect(await apiKeys().listApiKeys('t9')).toEqual([]);
      });

      it('revokeApiKey is idempotent, keeps the first time, and is false for another tenant', async () => {
        const record = apiKey({ id: 'key_r', tenantId: 't1' });
        await apiKeys().createApiKey(record);
        expect(await apiKeys().revokeApiKey('key_r', 't2', new Date(T0))).toBe(false);
        expect((await apiKeys().findApiKeyByHash(record.keyHash))?.revokedAt).toBeUndefined();
        expect(await apiKeys().revokeApiKey('key_r', 't1', new Date(T0 + 1))).toBe(true);
        expect(await apiKeys().revokeApiKey('key_r', 't1', new Date(T0 + 2))).toBe(true);
        expect((await apiKeys().findApiKeyByHash(record.keyHash))?.revokedAt).toEqual(new Date(T0 + 1));
        expect(await apiKeys().revokeApiKey('key_none', 't1', new Date(T0))).toBe(false);
        expect(await apiKeys().revokeApiKey("' OR 1=1 --", 't1', new Date(T0))).toBe(false);
      });
    });
  });
}

// ------------------------------------------------------------------ fixtures

const zeroCounters = { processedEventCount: 0, failureCount: 0, verificationFailureCount: 0 };

const OUTBOX_METHODS = ['claimDue', 'complete', 'retry', 'listOutbox', 'outboxStats'] as const;
const API_KEY_METHODS = ['createApiKey', 'findApiKeyByHash', 'listApiKeys', 'revokeApiKey'] as const;

function requireMethods<T>(store: ConformanceStore, methods: readonly string[], port: string): T {
  const missing = methods.filter((m) => typeof (store as unknown as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `store conformance: the store does not implement ${port} (${missing.join(', ')}); turn the check off in the options`,
    );
  }
  return store as T;
}

function registration(overrides: Partial<WebhookRegistration> & { id: string }): WebhookRegistration {
  return {
    tenantId: 'tenant-1',
    integrationId: 'github',
    connectionId: `conn-${UNICODE}`,
    webhookUrl: `https://hooks.example.com/webhooks/${overrides.id.slice(0, 100)}`,
    webhookSecret: `whsec_${UNICODE}_secret`,
    previousSecrets: [{ secret: 'whsec_previous', expiresAt: new Date(T0 + 86_400_000) }],
    providerWebhookId: '123456',
    events: ['issue.*', `contact.${UNICODE}`],
    status: 'active',
    isVerified: true,
    failureCount: 0,
    metadata: { label: UNICODE, nested: { list: [1, 'two', null, true] } },
    retryPolicy: { maxRetries: 5, backoffSeconds: 30 },
    providerOptions: { google: { audience: 'https://hooks.example.com' }, toleranceSeconds: 300 },
    createdAt: new Date(T0),
    updatedAt: new Date(T0 + 1),
    ...overrides,
  };
}

function minimalRegistration(id: string): WebhookRegistration {
  return {
    id,
    tenantId: 'tenant-1',
    integrationId: 'slack',
    connectionId: 'conn-1',
    webhookUrl: `https://hooks.example.com/webhooks/${id}`,
    webhookSecret: 'whsec_minimal',
    events: ['*'],
    status: 'pending_verification',
    isVerified: false,
    failureCount: 0,
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
  };
}

function delivery(overrides: Partial<DeliveryRecord> & { id: string; registrationId: string }): DeliveryRecord {
  return {
    tenantId: 'tenant-1',
    receivedAt: new Date(T0),
    headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-ünï': UNICODE },
    body: new TextEncoder().encode(JSON.stringify({ title: UNICODE })),
    outcome: 'accepted',
    events: [{ eventType: 'opened', entityType: 'issue', entityId: `1234-${UNICODE}`, deliveryId: 'd-1' }],
    dedupeKeys: ['id:d-1'],
    syncTriggered: true,
    ...overrides,
  };
}

function syncTask(overrides: Partial<SyncTask> = {}): SyncTask {
  return {
    integrationId: 'github',
    connectionId: 'conn-1',
    syncType: 'webhook_triggered',
    webhookEventId: '1234',
    metadata: { webhook: 'wh_1', delivery: 'dlv_1', note: UNICODE },
    tenantId: 'tenant-1',
    eventType: 'opened',
    entityType: 'issue',
    entityId: `1234-${UNICODE}`,
    deliveryId: 'd-1',
    ...overrides,
  };
}

function outboxTask(
  overrides: Partial<Omit<NewOutboxTask, 'task'>> & { id: string; availableAt: Date; task?: Partial<SyncTask> },
): NewOutboxTask {
  const { task, ...rest } = overrides;
  return { messageId: `msg-${overrides.id}`, maxAttempts: 3, ...rest, task: syncTask(task) };
}

function publishedEvent(id: string): PublishedEvent {
  const { webhookSecret: _secret, previousSecrets: _previous, ...webhook } = registration({ id: 'wh_1' });
  return {
    id,
    eventType: 'webhook.received',
    subject: '/github/webhooks/wh_1',
    eventTime: new Date(T0),
    data: {
      webhook,
      event: {
        providerId: 'github',
        eventType: 'opened',
        entityType: 'issue',
        entityId: `1234-${UNICODE}`,
        data: { title: UNICODE, nested: { list: [1, 'two', null, true] } },
        timestamp: new Date(T0 - 1000),
        deliveryId: 'd-1',
      },
      syncTriggered: true,
    },
  };
}

function apiKey(overrides: Partial<ApiKeyRecord> & { id: string }): ApiKeyRecord {
  return { tenantId: 't1', keyHash: hash(overrides.id), createdAt: new Date(T0), ...overrides };
}

/** A stand-in for a SHA-256 hex digest: 64 hex characters, distinct per input. */
function hash(seed: string): string {
  let hex = '';
  for (const char of seed) hex += char.codePointAt(0)!.toString(16).padStart(6, '0');
  return hex.padEnd(64, 'a').slice(0, 64);
}

function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.byteLength).toBe(expected.byteLength);
  // Compared natively: a per-element expect over 25 MB would take minutes.
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  expect(a.equals(b)).toBe(true);
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a WebhookError with code ${code}`).toBeDefined();
  expect(errorCode(caught)).toBe(code);
}

export { HOSTILE_IDS } from './hostile-ids.js';
