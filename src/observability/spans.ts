/** Attribute values a span may carry: configured names and fixed codes only, never a secret or caller text. */
export type SpanAttributes = Record<string, string | number | boolean>

/** What `work` may add to its span as it learns more (the outcome, a cache result). */
export interface SpanHandle {
  set(attributes: SpanAttributes): void
}

/**
 * What the core records of its work as trace spans. Absent when tracing is off, so the hot
 * path then does nothing at all for it (not even build the attributes).
 */
export interface Spans {
  /** `work` in a child span of the active one, ended when it settles; a failure marks it with its error code. */
  inSpan<T>(name: string, attributes: SpanAttributes, work: (span: SpanHandle) => Promise<T>): Promise<T>
  /** A span for work already done without waiting (a cache hit). */
  done(name: string, attributes: SpanAttributes): void
  /** The active span's trace and span ids, for log lines. */
  ids(): { traceId: string; spanId: string } | undefined
}

/** The error code a failure is known by (BrokerError, LwaError, SecretError all carry one), never its message. */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : 'internal_error'
}
