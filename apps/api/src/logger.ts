import pino, { type Logger } from 'pino';

/** Paths whose values never reach a log line, whatever logs them. */
export const REDACTED_PATHS = [
  'webhookSecret',
  '*.webhookSecret',
  'previousSecrets',
  '*.previousSecrets',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'connectionString',
  '*.connectionString',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'webhooks-api' },
  };
  return destination ? pino(options, destination) : pino(options);
}
