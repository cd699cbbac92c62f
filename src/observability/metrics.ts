import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Memo } from '../memo.js'
import type { CredentialHealth, CredentialStatus } from '../tokens/index.js'
import { CatalogueMetrics, type CatalogueSources } from './catalogue-metrics.js'
import type { BrokerEvents } from './events.js'
import { BrokerRegistry, registerComputed } from './exposition.js'
import { talliedHistogram, tallied } from './tallies.js'

const prefix = 'lwa_broker_'
const healthStates: readonly CredentialHealth[] = ['healthy', 'degraded', 'rejected', 'misconfigured']

export interface MetricsSources {
  now: () => number
  credentials: () => CredentialStatus[]
  secrets: () => Array<{ secretId: string; stale: boolean }>
}

/**
 * The broker's Prometheus metrics, on a registry of its own (one per app, so tests and
 * several apps in one process do not collide). Gauges are computed at scrape time from the
 * live state, so they cannot drift from it.
 */
export class Metrics implements BrokerEvents {
  readonly registry = new BrokerRegistry()
  private sources: MetricsSources = { now: () => Date.now(), credentials: () => [], secrets: () => [] }
  private catalogueSources: CatalogueSources = { counts: () => [], clashes: () => 0, now: Date.now }
  readonly catalogue = new CatalogueMetrics(this.registry, () => this.catalogueSources)

  // The per-request series are tallies (./tallies.ts): plain numbers, published to prom-client when scraped.
  private readonly requestCounts = tallied({
    name: `${prefix}http_requests_total`,
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    registry: this.registry,
  })
  private readonly requestDurations = talliedHistogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request latency by route.',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registry: this.registry,
  })
  private readonly tokenOutcomes = tallied({
    name: `${prefix}tokens_issued_total`,
    help: 'Token requests that passed validation and the rate limit, by credential and outcome (issued, or the error '
      + 'code).',
    labelNames: ['credential', 'outcome'],
    registry: this.registry,
  })
  private readonly cacheLookups = tallied({
    name: `${prefix}token_cache_lookups_total`,
    help: 'Token cache lookups by credential and result (hit, miss).',
    labelNames: ['credential', 'result'],
    registry: this.registry,
  })
  private readonly lwaCalls = tallied({
    name: `${prefix}lwa_requests_total`,
    help: 'Calls to the LWA token endpoint by credential, grant and result (ok, or the LWA error code).',
    labelNames: ['credential', 'grant', 'result'],
    registry: this.registry,
  })
  private readonly lwaDuration = new Histogram({
    name: `${prefix}lwa_request_duration_seconds`,
    help: 'LWA token endpoint latency by grant.',
    labelNames: ['grant'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  private readonly secretsCalls = new Counter({
    name: `${prefix}secrets_manager_requests_total`,
    help: 'Secrets Manager calls by operation and result (ok, or the AWS error name).',
    labelNames: ['operation', 'result'],
    registers: [this.registry],
  })
  private readonly jwtFailures = new Counter({
    name: `${prefix}jwt_failures_total`,
    help: 'Refused caller JWTs by the check that failed.',
    labelNames: ['reason'],
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix })
    const sources = (): MetricsSources => this.sources
    tokenGauges(this.registry, sources)
    secretGauges(this.registry, sources)
  }

  /** Where the scrape-time gauges read from; set once the token service exists. */
  observe(sources: MetricsSources, catalogue?: CatalogueSources): void {
    this.sources = sources
    if (catalogue) this.catalogueSources = catalogue
  }

  /** Redis backend only (a memory-only broker has no shared cache to report down): 1 while it is reachable. */
  sharedCacheUp(up: () => boolean): void {
    new Gauge({
      name: `${prefix}shared_cache_up`,
      help: '1 while the shared cache (Redis) is reachable, 0 while this replica serves alone.',
      registers: [this.registry],
      collect() { this.set(up() ? 1 : 0) },
    })
  }

  /** One answered request of the caller listener; `route` is the pattern, never the URL. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.requestCounts(route, method, String(status)).n++
    this.requestDurations(route).observe(seconds)
  }

  /** A token request's outcome: `issued`, or the error code it was refused with. */
  tokenOutcome(credential: string, outcome: string): void {
    this.tokenOutcomes(credential, outcome).n++
  }

  /** A token handed out: its credential's `issued` tally, found once per token and kept in its memo. */
  tokenIssued(token: { credential: string; memo: Memo }): void {
    countIn(token.memo, issuedTally, this.tokenOutcomes, token.credential, 'issued')
  }

  lwaCall(credential: string, grant: string, result: string, seconds: number): void {
    this.lwaCalls(credential, grant, result).n++
    this.lwaDuration.observe({ grant }, seconds)
  }

  /** A hit's tally is kept in the memo of the token it served, as `tokenIssued`'s. */
  cacheLookup(credential: string, result: 'hit' | 'miss', served?: { readonly memo: Memo }): void {
    if (served && result === 'hit') countIn(served.memo, hitTally, this.cacheLookups, credential, result)
    else this.cacheLookups(credential, result).n++
  }

  secretsCall(operation: string, result: string): void {
    this.secretsCalls.inc({ operation, result })
  }

  jwtFailure(reason: string): void {
    this.jwtFailures.inc({ reason })
  }
}

/**
 * Per-credential gauges, computed from the live state when scraped and kept nowhere: a
 * prom-client Gauge keeps every series it exported until the next scrape (at 10,000
 * credentials, ≈50,000 label objects and hash strings held for good).
 */
function tokenGauges(registry: Registry, sources: () => MetricsSources): void {
  registerComputed({
    name: `${prefix}token_expiry_seconds`, type: 'gauge', labelNames: ['credential'], registry,
    help: 'Seconds until the cached token of each credential expires (negative: expired).',
    series: (emit) => {
      const now = sources().now()
      for (const c of sources().credentials()) {
        if (c.tokenExpiresAtMs !== undefined) emit((c.tokenExpiresAtMs - now) / 1000, [c.credential])
      }
    },
  })
  registerComputed({
    name: `${prefix}credential_health`, type: 'gauge', labelNames: ['credential', 'state'], registry,
    help: 'Credential health: 1 for the current state (healthy, degraded, rejected, misconfigured), 0 for the others.',
    series: (emit) => {
      for (const c of sources().credentials()) {
        for (const state of healthStates) emit(c.health === state ? 1 : 0, [c.credential, state])
      }
    },
  })
}

function secretGauges(registry: Registry, sources: () => MetricsSources): void {
  registerComputed({
    name: `${prefix}credential_secret_stage`, type: 'gauge', labelNames: ['credential', 'secret', 'stage'], registry,
    help: '1 for each credential served from a secret version other than AWSCURRENT (stage AWSPENDING or '
      + 'AWSPREVIOUS; secret app or grant).',
    series: (emit) => {
      for (const c of sources().credentials()) if (c.stage) emit(1, [c.credential, c.stage.secret, c.stage.stage])
    },
  })
  registerComputed({
    name: `${prefix}secret_stale`, type: 'gauge', labelNames: ['secret'], registry,
    help: '1 when the last check of a cached secret failed and the last good value is being served.',
    series: (emit) => {
      for (const s of sources().secrets()) emit(s.stale ? 1 : 0, [s.secretId])
    },
  })
}

/** In a token's memo: its credential's `issued` tally, and its cache `hit` tally. */
const issuedTally = Symbol('issued tally')
const hitTally = Symbol('cache hit tally')

/** One more in a series found once per token and kept in its memo: no lookup by label values per request. */
function countIn(memo: Memo, key: symbol, series: (a: string, b: string) => { n: number }, a: string, b: string): void {
  let tally = memo[key] as { n: number } | undefined
  if (!tally) memo[key] = tally = series(a, b)
  tally.n++
}
