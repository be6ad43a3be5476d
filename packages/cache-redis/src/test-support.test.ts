import { describe, expect, it } from 'vitest';
import { TestRedisServer } from './test-support.js';

describe('TestRedisServer.start', () => {
  it('fails with an instruction to install redis-server when the binary is missing, rather than skipping', async () => {
    await expect(TestRedisServer.start('redis-server-not-installed')).rejects.toThrow(
      /redis-server-not-installed is not on PATH.*apt-get install -y redis-server/,
    );
  });
});
