/**
 * A reference for benchmark 1, not the broker: the same per-request work as GET /token on a
 * warm cache (real JWT verification behind the verified-token cache, policy, rate limit,
 * audit line, metrics, schema serialisation, request id) with the fixes the profile calls for
 * applied: no per-request request-log lines or child loggers, no redaction of the audit line
 * (its fields are fixed and safe), the policy decided once per verified caller, a synchronous
 * cache-hit path without a deadline timer, the response's token-derived parts (headers,
 * fingerprint, expiry text) built once per token, metric label children bound once, no onSend
 * hook. It estimates what the fixes would buy; BENCHMARKS.md labels it as such.
 */
import { Catalogue } from '../../src/catalogue/catalogue.js'
import { randomUUID } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { Counter, Histogram, Registry } from 'prom-client'
import { Agent } from 'undici'
import { Authenticator, claimsReadBy, compilePolicy, mayGetCredential, rateLimitOf, type Principal } from '../../src/auth/index.js'
import { systemClock } from '../../src/clock.js'
import type { BrokerConfig } from '../../src/config/index.js'
import { LwaClient } from '../../src/lwa/index.js'
import { fingerprint } from '../../src/observability/audit.js'
import { createLogger } from '../../src/observability/logger.js'
import { TokenQuery, TokenResponse } from '../../src/http/contract/token.js'
import { createSecretStore } from '../../src/secrets/index.js'
import { LocalTokenShare, TokenService, TokenSource, type IssuedToken } from '../../src/tokens/index.js'

interface Prepared {
  token: IssuedToken
  fingerprint: string
  expiresAt: string
}

export async function referenceServer(config: BrokerConfig): Promise<{ app: FastifyInstance; warm(): Promise<void> }> {
  const dest = (): ReturnType<typeof pino.destination> => pino.destination({ dest: 1, sync: false })
  const logger = createLogger(config.logLevel, dest())
  const audit = pino({ level: 'info' }, dest()).child({ log: 'audit' })
  const clock = systemClock
  const secrets = createSecretStore(config.secrets, { clock, logger })
  const lwa = new LwaClient({ timeoutMs: config.lwa.timeoutMs, clock, dispatcher: new Agent({ connections: 8 }) })
  const source = new TokenSource({ config, secrets, lwa, clock, logger })
  const catalogue = new Catalogue(config.credentials)
  const tokens = new TokenService({ config, catalogue, secrets, source, share: new LocalTokenShare(), clock, logger })
  const policy = compilePolicy(config.policy)
  const authenticator = new Authenticator(config.issuers, { clock, cache: { maxEntries: config.auth.verifiedTokenCache.maxEntries, maxAgeMs: config.auth.verifiedTokenCache.maxAgeSeconds * 1000 }, claims: claimsReadBy(policy) })
  const registry = new Registry()
  const issuedCounter = new Counter({ name: 'tokens_issued_total', help: 'x', labelNames: ['credential', 'outcome'], registers: [registry] })
  const requests = new Counter({ name: 'http_requests_total', help: 'x', labelNames: ['route', 'method', 'status'], registers: [registry] })
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'x', labelNames: ['route'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry] })
  const issuedChild = new Map<string, Counter.Internal>()
  const prepared = new Map<string, Prepared>()
  const decisions = new WeakMap<Principal, Map<string, boolean>>()

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    // One logger for every request: no per-request child (and its redaction of bindings).
    childLoggerFactory: (parent) => parent,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID()
    },
    exposeHeadRoutes: false,
  })
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', (request, _reply, done) => {
    authenticator.authenticate(request.headers.authorization).then((p) => {
      request.principal = p
      done()
    }, () => done())
  })
  await app.register(rateLimit, {
    hook: 'preHandler',
    timeWindow: config.rateLimit.timeWindowSeconds * 1000,
    cache: 100_000,
    keyGenerator: (request) => (request.principal ? `caller:${request.principal.issuer} ${request.principal.subject}` : `addr:${request.ip}`),
    max: (request) => (request.principal ? rateLimitOf(policy, request.principal) ?? config.rateLimit.max : config.rateLimit.unauthenticatedMax),
  })
  const requestsOk = requests.labels({ route: '/token', method: 'GET', status: '200' })
  const durationToken = duration.labels({ route: '/token' })
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 200) requestsOk.inc()
    else requests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) })
    durationToken.observe(reply.elapsedTime / 1000)
    done()
  })
  app.get<{ Querystring: TokenQuery }>('/token', { schema: { querystring: TokenQuery, response: { 200: TokenResponse } } }, (request, reply) => {
    const principal = request.principal
    const credential = request.query.credential
    if (!principal) return reply.code(401).send({ error: 'unauthenticated', message: 'missing or invalid bearer token', request_id: request.id })
    let known = decisions.get(principal)
    if (!known) decisions.set(principal, (known = new Map()))
    let allowed = known.get(credential)
    if (allowed === undefined) known.set(credential, (allowed = mayGetCredential(policy, principal, credential).allowed))
    if (!allowed) return reply.code(403).send({ error: 'forbidden', message: 'no', request_id: request.id })
    const now = clock.now()
    const entry = prepared.get(credential)
    const minTtlMs = (request.query.min_ttl ?? config.tokens.defaultMinTtlSeconds) * 1000
    if (!entry || entry.token.expiresAtMs - now < minTtlMs) return reply.code(503).send({ error: 'upstream_unavailable', message: 'cold', request_id: request.id })
    const { token } = entry
    audit.info({ requestId: request.id, callerIssuer: principal.issuer, callerSubject: principal.subject, credential, event: 'token.issued', outcome: 'allowed', tokenFingerprint: entry.fingerprint, expiresAt: entry.expiresAt }, 'token issued')
    let child = issuedChild.get(credential)
    if (!child) issuedChild.set(credential, (child = issuedCounter.labels({ credential, outcome: 'issued' })))
    child.inc()
    return reply.header('cache-control', 'no-store').header('x-request-id', request.id).send({
      access_token: token.accessToken, token_type: token.tokenType, expires_in: Math.floor((token.expiresAtMs - now) / 1000), expires_at: entry.expiresAt,
      credential, api: token.config.api, region: token.config.region, headers: token.headers,
    })
  })
  return {
    app,
    async warm() {
      for (const name of Object.keys(config.credentials)) {
        const token = await tokens.getToken(name, 0)
        prepared.set(name, { token, fingerprint: fingerprint(token.accessToken), expiresAt: new Date(token.expiresAtMs).toISOString() })
      }
    },
  }
}
