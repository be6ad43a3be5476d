/** Registration ids no store issues (ours match /^[A-Za-z0-9_-]{1,100}$/): each is "not found", and never query text. */
export const HOSTILE_IDS: readonly string[] = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  'a'.repeat(10 * 1024),
  'wh_ünïcødé_🚀',
  "' OR 1=1 --",
  "x'; DROP TABLE registrations; --",
  '{"$ne":null}',
  '{"$gt":""}',
  '%',
  'wh_%_',
  '*',
  '',
  'wh\u0000nul',
];
