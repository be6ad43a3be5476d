/**
 * Event-pattern matching for registrations. Patterns and names are dot-separated and compared
 * case-insensitively; `*` matches exactly one segment; a lone `*` matches every event.
 */
export function matchesEventPattern(pattern: string, eventName: string): boolean {
  const p = pattern.trim().toLowerCase();
  if (p === '*') return true;
  const name = eventName.toLowerCase();
  if (!p.includes('*')) return p === name;
  const want = p.split('.');
  const have = name.split('.');
  if (want.length !== have.length) return false;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w !== '*' && w !== have[i]) return false;
  }
  return true;
}

/** The event name a registration's patterns are matched against: `entityType.eventType`. */
export function eventName(entityType: string, eventType: string): string {
  return `${entityType}.${eventType}`;
}

/** True when any pattern matches `entityType.eventType` (the spec's shouldTriggerSync). */
export function shouldTriggerSync(patterns: readonly string[], entityType: string, eventType: string): boolean {
  const name = eventName(entityType, eventType);
  for (const pattern of patterns) {
    if (matchesEventPattern(pattern, name)) return true;
  }
  return false;
}

/** A pattern is usable when it is non-empty dot-separated segments of visible characters. */
export function isValidEventPattern(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > 200) return false;
  return pattern.split('.').every((segment) => /^[^\s.]+$/u.test(segment));
}
