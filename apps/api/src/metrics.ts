import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsSources {
  /** Pending and dead sync tasks, and the age of the oldest pending one. */
  outboxStats(): Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }>;
  cacheHitRate(): number;
}

/** Prometheus metrics of the receiver; labels never carry tenant ids or registration ids. */
export class ReceiverMetrics {
  readonly registry = new Registry();
  readonly received = new Counter({
    name: 'webhooks_received_total',
    help: 'Webhook requests received, by provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly verified = new Counter({
    name: 'webhooks_verified_total',
    help: 'Webhook requests whose signature verified',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'webhooks_rejected_total',
    help: 'Webhook requests refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'webhooks_duplicates_total',
    help: 'Deliveries recognised as repeats',
    registers: [this.registry],
  });
  readonly syncsTriggered = new Counter({
    name: 'webhooks_syncs_triggered_total',
    help: 'Deliveries that triggered at least one sync task',
    registers: [this.registry],
  });
  readonly queued = new Counter({
    name: 'webhooks_queued_total',
    help: 'Deliveries whose sync tasks waited in the outbox because the queue was unavailable or they were rate-limited',
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'webhooks_receive_duration_seconds',
    help: 'Time to answer a webhook request',
    labelNames: ['status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    let stats: Promise<{ pending: number; dead: number; oldestPendingAgeMs: number }> | undefined;
    // One outbox read per scrape, shared by the three gauges.
    const readStats = () => {
      stats ??= sources.outboxStats().finally(() => {
        setTimeout(() => {
          stats = undefined;
        }, 0);
      });
      return stats;
    };
    new Gauge({
      name: 'webhooks_outbox_pending',
      help: 'Sync tasks waiting in the outbox',
      registers: [this.registry],
      async collect() {
        this.set((await readStats()).pending);
      },
    });
    new Gauge({
      name: 'webhooks_outbox_dead',
      help: 'Sync tasks dead-lettered after their retries',
      registers: [this.registry],
      async collect() {
        this.set((await readStats()).dead);
      },
    });
    new Gauge({
      name: 'webhooks_outbox_lag_seconds',
      help: 'Age of the oldest sync task still waiting',
      registers: [this.registry],
      async collect() {
        this.set((await readStats()).oldestPendingAgeMs / 1000);
      },
    });
    new Gauge({
      name: 'webhooks_cache_hit_ratio',
      help: 'Registration cache hit ratio since start',
      registers: [this.registry],
      collect() {
        this.set(sources.cacheHitRate());
      },
    });
  }
}
