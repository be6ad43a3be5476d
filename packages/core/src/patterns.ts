/**
 * A pattern as matching needs it, worked out once per pattern string: trimmed, lower-cased, and
 * split into segments when it has a wildcard.
 */
type CompiledPattern =
  | { kind: 'all' }
  | { kind: 'exact'; name: string }
  | { kind: 'segments'; segments: readonly string[] };

/**
 * Compiled patterns by pattern string. Registrations hold few distinct patterns, so this stays
 * small; it starts over once it holds MAX_COMPILED, so odd patterns cannot grow it without bound.
 */
const compiled = new Map<string, CompiledPattern>();
const MAX_COMPILED = 1024;

function compile(pattern: string): CompiledPattern {
  let found = compiled.get(pattern);
  if (found === undefined) {
    const p = pattern.trim().toLowerCase();
    if (p === '*') found = { kind: 'all' };
    else if (!p.includes('*')) found = { kind: 'exact', name: p };
    else found = { kind: 'segments', segments: Object.freeze(p.split('.')) };
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, found);
  }
  return found;
}

/** Whether lower-case `name` has exactly the pattern's segments, `*` standing for any one segment. */
function matchesSegments(segments: readonly string[], name: string): boolean {
  const last = segments.length - 1;
  let start = 0;
  for (let i = 0; i <= last; i++) {
    const dot = name.indexOf('.', start);
    // The name has too few segments (no dot before the last) or too many (a dot after it).
    if ((dot === -1) !== (i === last)) return false;
    const end = dot === -1 ? name.length : dot;
    const want = segments[i]!;
    if (want !== '*' && (end - start !== want.length || !name.startsWith(want, start))) return false;
    start = end + 1;
  }
  return true;
}

/** `matchesEventPattern` for a compiled pattern and a name already lower-cased. */
function matchesCompiled(pattern: CompiledPattern, name: string): boolean {
  if (pattern.kind === 'all') return true;
  if (pattern.kind === 'exact') return pattern.name === name;
  return matchesSegments(pattern.segments, name);
}

/**
 * Event-pattern matching for registrations. Patterns and names are dot-separated and compared
 * case-insensitively; `*` matches exactly one segment; a lone `*` matches every event.
 */
export function matchesEventPattern(pattern: string, eventName: string): boolean {
  return matchesCompiled(compile(pattern), eventName.toLowerCase());
}

/** The event name a registration's patterns are matched against: `entityType.eventType`. */
export function eventName(entityType: string, eventType: string): string {
  return `${entityType}.${eventType}`;
}

/** True when any pattern matches `entityType.eventType` (the spec's shouldTriggerSync). */
export function shouldTriggerSync(patterns: readonly string[], entityType: string, eventType: string): boolean {
  if (patterns.length === 0) return false;
  // Lower-cased once for all the patterns, which are compiled once for all the events.
  const name = eventName(entityType, eventType).toLowerCase();
  for (const pattern of patterns) {
    if (matchesCompiled(compile(pattern), name)) return true;
  }
  return false;
}

/** A pattern is usable when it is non-empty dot-separated segments of visible characters. */
export function isValidEventPattern(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > 200) return false;
  return pattern.split('.').every((segment) => /^[^\s.]+$/u.test(segment));
}
