import type { FastifyPluginCallback } from 'fastify'

/**
 * @fastify/otel's plugin for the caller listener: a span per request, the route's hooks and
 * handler as its children, the caller's W3C trace context honoured. Loaded only when tracing
 * is on (main.ts), after the SDK has registered its tracer provider.
 */
export async function requestTracing(): Promise<FastifyPluginCallback> {
  const { FastifyOtelInstrumentation } = await import('@fastify/otel')
  const instrumentation = new FastifyOtelInstrumentation({
    // An exception's message and stack are not span data: errors are marked by their code.
    recordExceptions: false,
    // A span per request and per handler; none per hook (the guard, the rate limit, the
    // headers): they doubled the spans, and what the guard does shows in the request span.
    instrumentHooks: false,
    // The path without its query: an onboarding callback's query holds LWA's authorization code.
    requestHook: (span, request) => span.setAttribute('url.path', request.url.split('?', 1)[0] as string),
  })
  return instrumentation.plugin() as FastifyPluginCallback
}
