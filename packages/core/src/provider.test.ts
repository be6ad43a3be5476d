import { describe, expect, it } from 'vitest';
import { WebhookError } from './errors.js';
import { defineProvider, describeProviderProblems, isWebhookProvider } from './provider.js';

const provider = {
  id: 'intercom',
  verify: async () => ({ ok: true as const, secretIndex: 0 }),
  parse: () => ({
    providerId: 'intercom',
    eventType: 'created',
    entityType: 'contact',
    entityId: '1',
    data: {},
    timestamp: new Date(0),
  }),
};

describe('defineProvider', () => {
  it('returns the provider frozen', () => {
    const defined = defineProvider(provider);
    expect(defined.id).toBe('intercom');
    expect(Object.isFrozen(defined)).toBe(true);
  });

  it('throws a TypeError that says exactly what is wrong', () => {
    expect(() => defineProvider({ ...provider, id: 'Bad Id', parse: undefined } as never)).toThrow(
      /`id` must be lower-case.*`parse` must be a function/,
    );
  });
});

describe('describeProviderProblems', () => {
  it.each([
    [null, ['expected an object, got null']],
    ['github', ['expected an object, got string']],
    [{}, ['`id` must be a string', '`verify` must be a function', '`parse` must be a function']],
    [{ ...provider, handshake: 'yes' }, ['`handshake` must be a function when present']],
    [{ ...provider, answerWithinMs: 0 }, ['`answerWithinMs` must be a positive number of milliseconds when present']],
    [
      { ...provider, answerWithinMs: '3s' },
      ['`answerWithinMs` must be a positive number of milliseconds when present'],
    ],
  ])('describeProviderProblems(%j)', (value, problems) => {
    expect(describeProviderProblems(value)).toEqual(problems);
  });

  it('accepts a well-formed provider', () => {
    expect(isWebhookProvider(provider)).toBe(true);
    expect(isWebhookProvider({ ...provider, answerWithinMs: 3000 })).toBe(true);
  });
});

describe('WebhookError', () => {
  it('carries a stable code and the HTTP status hint of that code', () => {
    const error = new WebhookError('invalid_signature', 'Invalid webhook signature', { reason: 'signature_mismatch' });
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(401);
    expect(error.toJSON()).toEqual({
      error: 'Invalid webhook signature',
      code: 'invalid_signature',
      reason: 'signature_mismatch',
    });
    expect(new WebhookError('store_unavailable', 'Store down').status).toBe(503);
    expect(new WebhookError('not_found', 'x', { status: 410 }).status).toBe(410);
  });
});
