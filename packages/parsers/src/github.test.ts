import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseGitHub } from './github.js';
import { parseWebhook } from './index.js';

const now = Date.UTC(2025, 2, 14, 9, 30);
const delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

describe('parseGitHub', () => {
  it("parseWebhook('github', spec example without X-GitHub-Event) gives the spec's output", () => {
    const body = '{"action":"opened","issue":{"number":123,"id":1234567}}';
    expect(parseWebhook('github', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'github',
      eventType: 'opened',
      entityType: 'issue',
      entityId: '1234567',
      data: { action: 'opened', issue: { number: 123, id: 1234567 } },
      timestamp: new Date(now),
    });
  });

  it('parseGitHub(issues delivery) takes X-GitHub-Delivery as deliveryId, whatever the header case', () => {
    const headers = { 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': delivery, 'Content-Type': 'application/json' };
    const event = parseGitHub({ headers, body: fixture('github-issues-opened.json') });
    expect(event).toMatchObject({
      eventType: 'opened',
      entityType: 'issue',
      entityId: '1234567',
      deliveryId: delivery,
    });
    expect(event.data).toMatchObject({ repository: { full_name: 'octo-org/webhooks-demo' } });
  });

  it('parseGitHub(push) gives eventType push and the after sha as entityId', () => {
    const headers = { 'x-github-event': 'push', 'x-github-delivery': delivery };
    const event = parseGitHub({ headers, body: fixture('github-push.json') });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual([
      'push',
      'push',
      '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
    ]);
  });

  it('parseGitHub(push without header) infers the push event from its keys', () => {
    expect(parseGitHub({ headers: {}, body: fixture('github-push.json') }).entityType).toBe('push');
  });

  it('parseGitHub(ping) gives eventType ping, entityType hook and the hook id', () => {
    const event = parseGitHub({ headers: { 'x-github-event': 'ping' }, body: fixture('github-ping.json') });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual(['ping', 'hook', '498765432']);
  });

  it('parseGitHub(form-encoded payload=) parses the JSON inside the form', () => {
    const body = `payload=${encodeURIComponent(fixture('github-issues-opened.json'))}`;
    const headers = { 'x-github-event': 'issues', 'content-type': 'application/x-www-form-urlencoded' };
    expect(parseGitHub({ headers, body }).entityId).toBe('1234567');
  });

  it('parseGitHub(issue_comment) gives entityType issue_comment and the comment id', () => {
    const body = JSON.stringify({ action: 'created', issue: { id: 1, number: 2 }, comment: { id: 99, body: 'hi' } });
    const event = parseGitHub({ headers: { 'x-github-event': 'issue_comment' }, body });
    expect([event.entityType, event.entityId]).toStrictEqual(['issue_comment', '99']);
    expect(parseGitHub({ headers: {}, body }).entityType).toBe('issue_comment');
  });

  it('parseGitHub(pull_request) gives entityType pull_request and its id', () => {
    const body = JSON.stringify({
      action: 'closed',
      number: 7,
      pull_request: { id: 279147437, number: 7, merged: true },
    });
    const event = parseGitHub({ headers: { 'x-github-event': 'pull_request' }, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual(['closed', 'pull_request', '279147437']);
  });

  it('parseGitHub(star, an event without its own object) falls back to the repository id', () => {
    const body = JSON.stringify({ action: 'created', starred_at: '2025-01-01T00:00:00Z', repository: { id: 42 } });
    const event = parseGitHub({ headers: { 'x-github-event': 'star' }, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual(['created', 'star', '42']);
  });

  it('parseGitHub(X-GitHub-Event: constructor) never reads Object.prototype', () => {
    const body = '{"action":"x","repository":{"id":5}}';
    expect(parseGitHub({ headers: { 'x-github-event': 'constructor' }, body }).entityId).toBe('5');
  });

  it.each([
    ['an unrecognised body without header', '{"action":"opened","thing":{"id":1}}'],
    ['an issue without id', '{"action":"opened","issue":{"number":1}}'],
    ['a form without payload', 'foo=bar'],
    ['an array', '[{"action":"opened","issue":{"id":1}}]'],
  ])('parseGitHub(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseGitHub({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });

  it('parseGitHub(repeated X-GitHub-Delivery that disagrees) throws invalid_payload', () => {
    const headers = { 'x-github-delivery': ['a', 'b'], 'x-github-event': 'issues' };
    expect(() => parseGitHub({ headers, body: fixture('github-issues-opened.json') })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
