import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { BrokerConfig } from '../config/index.js'
import { LogOutputs, type LogSink } from './log-output.js'
import type { Spans } from './spans.js'

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

/** `spans`: when tracing, every line also names the active span (`trace_id`, `span_id`) beside its request id. */
export function createLogger(level: string, destination?: DestinationStream, spans?: Spans): Logger {
  const options: LoggerOptions = { level, redact: { paths: redactPaths, censor: '[redacted]' } }
  if (spans) options.mixin = () => traceFields(spans)
  return destination ? pino(options, destination) : pino(options)
}

function traceFields(spans: Spans): Record<string, string> {
  const ids = spans.ids()
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}
}

/**
 * The loggers a broker process writes with, as main.ts makes them: the operational log on
 * stdout and the audit log at `audit.destination`, sharing one writer when both are stdout.
 */
export function processLogs(
  config: BrokerConfig,
  spans?: Spans,
): { logger: Logger; auditSink: LogSink; outputs: LogOutputs } {
  const outputs = new LogOutputs(config.logs)
  return {
    logger: createLogger(config.logLevel, outputs.sink('stdout'), spans),
    auditSink: outputs.sink(config.audit.destination),
    outputs,
  }
}
