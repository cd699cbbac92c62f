import type { SpanAttributes, Spans } from './spans.js'
import { errorCodeOf } from './spans.js'

/** Tracing as main.ts starts it: the core's spans, and what ends the SDK at shutdown. */
export interface Tracing {
  spans: Spans
  /** Exports every span ended so far. */
  flush(): Promise<void>
  shutdown(): Promise<void>
}

type Env = Record<string, string | undefined>

/**
 * Whether the standard OpenTelemetry environment asks for traces: an OTLP endpoint or an
 * explicit OTEL_TRACES_EXPORTER, and not OTEL_SDK_DISABLED. Off by default.
 */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false
  const exporter = env.OTEL_TRACES_EXPORTER
  if (exporter !== undefined) return exporter !== 'none' && exporter !== ''
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

/**
 * Starts the OpenTelemetry Node SDK, configured by the standard OTEL_* environment of this
 * process (exporter, endpoint, protocol, headers, sampler, service name), with the undici
 * instrumentation for the LWA and Ads calls. Undefined, and nothing loaded, when the
 * environment does not ask for traces: a broker without them pays nothing. (`env` decides
 * whether; the SDK reads its settings from process.env itself.)
 */
export async function startTracing(env: Env = process.env): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined
  const [api, { NodeSDK }, { UndiciInstrumentation }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-undici'),
  ])
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'lwa-broker',
    // No request or response headers recorded: the LWA exchange carries secrets in its body,
    // the Ads calls an Authorization header.
    instrumentations: [
      new UndiciInstrumentation({ headersToSpanAttributes: { requestHeaders: [], responseHeaders: [] } }),
    ],
  })
  sdk.start()
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } }
  const spans = spansOf(api, api.trace.getTracer('lwa-broker'))
  return {
    spans,
    flush: async () => {
      await provider.getDelegate?.().forceFlush?.()
    },
    shutdown: () => sdk.shutdown(),
  }
}

type Api = typeof import('@opentelemetry/api')

/** The core's spans on an OpenTelemetry tracer: children of the active span, in its context. */
function spansOf(api: Api, tracer: ReturnType<Api['trace']['getTracer']>): Spans {
  return {
    inSpan: (name, attributes, work) => tracer.startActiveSpan(name, { attributes }, async (span) => {
      try {
        return await work({ set: (more: SpanAttributes) => span.setAttributes(more) })
      } catch (err) {
        span.setAttributes({ 'lwa_broker.error': errorCodeOf(err) })
        span.setStatus({ code: api.SpanStatusCode.ERROR })
        throw err
      } finally {
        span.end()
      }
    }),
    done: (name, attributes) => tracer.startSpan(name, { attributes }).end(),
    ids: () => {
      const context = api.trace.getActiveSpan()?.spanContext()
      if (!context || !api.isSpanContextValid(context)) return undefined
      return { traceId: context.traceId, spanId: context.spanId }
    },
  }
}
