import { pino, type DestinationStream, type Logger } from 'pino'

/**
 * Paths pino blanks in every log line. Code never logs these on purpose; this is the net
 * under it, and a test scans every line the suite writes for the real values.
 */
export const redactPaths = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization',
  'access_token', 'refresh_token', 'client_secret', 'accessToken', 'refreshToken', 'clientSecret', 'jwt', 'token',
  '*.access_token', '*.refresh_token', '*.client_secret', '*.accessToken', '*.refreshToken', '*.clientSecret',
  '*.jwt', '*.token',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: redactPaths, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}

/**
 * The audit trail's own logger, so it can be shipped and kept apart from operational logs:
 * `stdout`, `stderr`, or a file path (appended to).
 */
export function createAuditLogger(destination: string): Logger {
  const fd = destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : destination
  // No redaction pass: AuditLog writes a fixed set of fields, none of them secret (the token
  // only as a fingerprint), and it runs on every request. The leak-scanning tests cover it.
  return pino({ level: 'info' }, pino.destination({ dest: fd, sync: false, mkdir: true })).child({ log: 'audit' })
}
