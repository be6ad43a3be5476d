import { describe, expect, it } from 'vitest';
import { isValidEventPattern, matchesEventPattern, shouldTriggerSync } from './patterns.js';

describe('matchesEventPattern', () => {
  it.each([
    ['contact.created', 'contact.created', true],
    ['Contact.created', 'contact.CREATED', true],
    ['contact.*', 'contact.created', true],
    ['contact.*', 'contact.deleted', true],
    ['*.created', 'contact.created', true],
    ['*.created', 'page.created', true],
    ['*', 'anything.at.all', true],
    ['*', 'x', true],
    ['contact.*', 'account.created', false],
    ['contact.*', 'contact', false],
    ['contact.*', 'contact.created.extra', false],
    ['*.created', 'contact.deleted', false],
    ['contact.created', 'contact.updated', false],
    ['contact', 'contact.created', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a.b.c', false],
  ])('matchesEventPattern(%j, %j) is %s', (pattern, name, expected) => {
    expect(matchesEventPattern(pattern, name)).toBe(expected);
  });

  it('treats regular-expression characters literally', () => {
    expect(matchesEventPattern('a+b.c', 'a+b.c')).toBe(true);
    expect(matchesEventPattern('a.c', 'abc')).toBe(false);
    expect(matchesEventPattern('(.*)', 'x')).toBe(false);
  });
});

describe('shouldTriggerSync', () => {
  it("matches the spec's example: contact.created is in ['contact.created', 'contact.updated']", () => {
    expect(shouldTriggerSync(['contact.created', 'contact.updated'], 'contact', 'created')).toBe(true);
  });

  it('does not trigger for contact.deleted when only created and updated are registered', () => {
    expect(shouldTriggerSync(['contact.created', 'contact.updated'], 'contact', 'deleted')).toBe(false);
  });

  it("matches the spec's Salesforce registration Contact.created case-insensitively", () => {
    expect(shouldTriggerSync(['Contact.created', 'Contact.updated'], 'Contact', 'created')).toBe(true);
  });

  it('triggers nothing for an empty pattern list', () => {
    expect(shouldTriggerSync([], 'contact', 'created')).toBe(false);
  });
});

describe('isValidEventPattern', () => {
  it.each([
    ['contact.created', true],
    ['*', true],
    ['contact.*', true],
    ['', false],
    ['contact..created', false],
    ['.created', false],
    ['contact created', false],
    ['x'.repeat(201), false],
  ])('isValidEventPattern(%j) is %s', (pattern, expected) => {
    expect(isValidEventPattern(pattern)).toBe(expected);
  });
});
