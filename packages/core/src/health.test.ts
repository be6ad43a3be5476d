import { describe, expect, it } from 'vitest';
import {
  classifyHealth,
  failureRatePercent,
  HEALTH_RECOMMENDATIONS,
  PENDING_RECOMMENDATION,
  SIGNATURES_FAILING_RECOMMENDATION,
  SILENT_RECOMMENDATION,
} from './health.js';

const base = { registrationId: 'webhook-123', status: 'active' as const, failureCount: 0, failureRate: 0 };

describe('classifyHealth', () => {
  it('is healthy when active with no failures and a rate under 5%', () => {
    expect(classifyHealth({ ...base, failureRate: 4.99 })).toEqual({
      registrationId: 'webhook-123',
      status: 'healthy',
      failureCount: 0,
      failureRate: 4.99,
      recommendations: [],
    });
  });

  it.each([1, 2])('is degraded with %i consecutive failures', (failureCount) => {
    const health = classifyHealth({ ...base, failureCount });
    expect(health.status).toBe('degraded');
    expect(health.recommendations).toEqual([...HEALTH_RECOMMENDATIONS.degraded]);
  });

  it.each([5, 12.5, 25])('is degraded at a %s% failure rate', (failureRate) => {
    expect(classifyHealth({ ...base, failureRate }).status).toBe('degraded');
  });

  it.each([
    ['3 failures', { failureCount: 3 }],
    ['a rate over 25%', { failureRate: 25.01 }],
    ["status 'failed'", { status: 'failed' as const }],
  ])('is failed with %s', (_, change) => {
    const health = classifyHealth({ ...base, ...change });
    expect(health.status).toBe('failed');
    expect(health.recommendations).toEqual([...HEALTH_RECOMMENDATIONS.failed]);
  });

  it("gives the spec's recommendations exactly", () => {
    expect(HEALTH_RECOMMENDATIONS.degraded).toEqual([
      'Monitor for additional failures',
      'Check integration connection',
    ]);
    expect(HEALTH_RECOMMENDATIONS.failed).toEqual([
      'Verify webhook secret',
      'Check provider configuration',
      'Retry failed events',
    ]);
  });

  it('is degraded, with a setup recommendation, while pending verification', () => {
    const health = classifyHealth({ ...base, status: 'pending_verification' });
    expect(health.status).toBe('degraded');
    expect(health.recommendations).toEqual([PENDING_RECOMMENDATION]);
  });

  it('adds the silent recommendation when an active registration has had no event for the period', () => {
    const lastEventAt = new Date('2026-11-01T00:00:00Z');
    const now = new Date('2026-11-03T00:00:01Z');
    const silent = classifyHealth({ ...base, lastEventAt, now, silentAfterMs: 48 * 3600_000 });
    expect(silent.recommendations).toContain(SILENT_RECOMMENDATION);
    expect(silent.lastEventAt).toBe(lastEventAt);
    const recent = classifyHealth({
      ...base,
      lastEventAt,
      now: new Date('2026-11-02T00:00:00Z'),
      silentAfterMs: 48 * 3600_000,
    });
    expect(recent.recommendations).not.toContain(SILENT_RECOMMENDATION);
  });

  it('recommends checking the secret when signatures keep failing, without changing the status', () => {
    const health = classifyHealth({ ...base, signaturesFailing: true });
    expect(health).toMatchObject({ status: 'healthy', recommendations: [SIGNATURES_FAILING_RECOMMENDATION] });
    expect(classifyHealth({ ...base, signaturesFailing: false }).recommendations).toEqual([]);
  });

  it('clamps nonsense rates instead of trusting them', () => {
    expect(classifyHealth({ ...base, failureRate: Number.NaN }).failureRate).toBe(0);
    expect(classifyHealth({ ...base, failureRate: 250 }).failureRate).toBe(100);
    expect(classifyHealth({ ...base, failureCount: -4 }).failureCount).toBe(0);
  });
});

describe('failureRatePercent', () => {
  it('is 0 with no deliveries and a percentage otherwise', () => {
    expect(failureRatePercent(0, 0)).toBe(0);
    expect(failureRatePercent(1, 3)).toBe(33.33);
    expect(failureRatePercent(5, 4)).toBe(100);
  });
});
