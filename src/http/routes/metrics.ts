import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Clock } from '../../clock.js'
import type { Chunked } from '../../observability/exposition.js'
import type { Metrics } from '../../observability/metrics.js'
import { metricsSchema } from '../contract/metrics.js'

/**
 * Counts every request of the caller listener by route, method and status. The route is
 * the pattern (`/admin/credentials/:name/refresh`), never the URL a caller chose.
 */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}

/** GET /metrics, for the ops listener. */
export function metricsRoute(metrics: Metrics, clock: Clock, cacheMs: number): FastifyPluginAsync {
  const scrape = cachedScrape(metrics, clock, cacheMs)
  return async (app) => {
    app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
      const { chunks, byteLength } = await scrape()
      return reply.header('content-type', metrics.registry.contentType).header('content-length', byteLength)
        .send(Readable.from(chunks))
    })
  }
}

/**
 * The exposition text, rendered at most once per `cacheMs` however many scrapers ask: at
 * thousands of credentials one render costs tens of milliseconds of the event loop that
 * serves GET /token. Concurrent scrapes share one render. It is kept and sent as the chunks it
 * was written in: at 10,000 credentials it is 5 MB, which as a string would sit on the V8 heap.
 */
function cachedScrape(metrics: Metrics, clock: Clock, cacheMs: number): () => Promise<Chunked> {
  let last: { atMs: number; text: Promise<Chunked> } | undefined
  return () => {
    const now = clock.now()
    if (!last || now - last.atMs >= cacheMs) {
      const text = metrics.registry.exposition()
      const entry = { atMs: now, text }
      last = entry
      const forget = (): void => {
        if (last === entry) last = undefined
      }
      // Kept for its window only (5 MB at 10,000 credentials is not held until the next
      // scrape); a failed render is not kept at all: the next scrape tries again.
      text.then(() => setTimeout(forget, cacheMs).unref(), forget)
    }
    return last.text
  }
}
