/**
 * The structured logger. Credentials are redacted by path as a second line of defence; the
 * first is that no code path logs a key, a bearer token or an upstream credential at all.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.apiKey',
  '*.keySecret',
  'apiKey',
  'key',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'moat' } }, destination as never);
}
