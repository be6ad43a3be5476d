import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('needs nothing: the embedded default on port 3000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      publicBaseUrl: 'http://localhost:3000',
      dataDir: './.data',
      apiKeys: [],
      rateLimitPerMinute: 100,
      maxBodyBytes: 25 * 1024 * 1024,
      adminMaxBodyBytes: 1024 * 1024,
      inlineSendTimeoutMs: 3000,
    });
    expect(loadConfig({ WEBHOOKS_INLINE_SEND_TIMEOUT_MS: '500' }).inlineSendTimeoutMs).toBe(500);
    expect(() => loadConfig({ WEBHOOKS_INLINE_SEND_TIMEOUT_MS: '-1' })).toThrow(/WEBHOOKS_INLINE_SEND_TIMEOUT_MS/);
    expect(config.cosmos).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.serviceBus).toBeUndefined();
    expect(config.eventGrid).toBeUndefined();
  });

  it('reads the contract names', () => {
    const config = loadConfig({
      PORT: '8080',
      PUBLIC_BASE_URL: 'https://api.example.com/',
      WEBHOOKS_API_KEYS: 'tenant-a:aaaaaaaaaaaaaaaaaaaa,tenant-b:bbbbbbbbbbbbbbbbbbbb',
      WEBHOOKS_DATA_DIR: '/var/lib/webhooks',
      COSMOS_ENDPOINT: 'https://acct.documents.azure.com:443/',
      COSMOS_KEY: 'a2V5',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v',
      EVENTGRID_ENDPOINT: 'https://topic.westeurope-1.eventgrid.azure.net/api/events',
      EVENTGRID_KEY: 'k',
    });
    expect(config).toMatchObject({
      port: 8080,
      publicBaseUrl: 'https://api.example.com',
      apiKeys: [
        { tenantId: 'tenant-a', key: 'aaaaaaaaaaaaaaaaaaaa' },
        { tenantId: 'tenant-b', key: 'bbbbbbbbbbbbbbbbbbbb' },
      ],
      dataDir: '/var/lib/webhooks',
      cosmos: { endpoint: 'https://acct.documents.azure.com:443/', key: 'a2V5', database: 'webhooks' },
      redisUrl: 'redis://127.0.0.1:6379',
      serviceBus: { queue: 'sync-tasks' },
      eventGrid: { key: 'k' },
    });
  });

  it('says what is wrong with each bad value, in one error, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        PUBLIC_BASE_URL: 'ftp://x',
        WEBHOOKS_API_KEYS: 'tenant-a:tiny-secret',
        COSMOS_ENDPOINT: 'https://acct.documents.azure.com',
        REDIS_URL: 'http://not-redis',
        SERVICEBUS_CONNECTION_STRING: 'super-secret-garbage',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(
      [
        'COSMOS_KEY',
        'LOG_LEVEL',
        'PORT',
        'PUBLIC_BASE_URL',
        'REDIS_URL',
        'SERVICEBUS_CONNECTION_STRING',
        'WEBHOOKS_API_KEYS',
      ].sort(),
    );
    expect(message).not.toContain('tiny-secret');
    expect(message).not.toContain('super-secret-garbage');
  });
});
