/** Parses a small JSON object, or null for anything else; never throws. */
export function parseJsonObject(text: string, maxLength = 64 * 1024): Record<string, unknown> | null {
  if (text.length > maxLength) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
