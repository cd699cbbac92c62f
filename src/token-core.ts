import { ProfileBook } from './ads/profile-book.js'
import { readAdsProfiles } from './ads/profiles.js'
import type { Catalogue } from './catalogue/catalogue.js'
import type { Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'
import type { BrokerEvents } from './observability/events.js'
import type { Metrics } from './observability/metrics.js'
import type { Spans } from './observability/spans.js'
import { SecretSweep } from './secrets/secret-sweep.js'
import type { ServiceDeps } from './services.js'
import { CredentialStatusView, LocalTokenShare, TokenService, TokenSource } from './tokens/index.js'
import type { SharedTokenStore } from './tokens/shared-store.js'
import { tracedShare } from './tokens/traced-share.js'
import type { Upstreams } from './upstreams.js'

/** Secrets read at once by the background sweep (start-up of many credentials). */
const sweepConcurrency = 16

/** The token side of the core: the service that vends tokens, the Ads profiles, the secret sweep, the status view. */
export function createTokenCore(
  config: BrokerConfig,
  deps: ServiceDeps,
  clock: Clock,
  metrics: Metrics,
  upstreams: Upstreams & { catalogue: Catalogue; events: BrokerEvents },
): { tokens: TokenService; profiles: ProfileBook; sweep: SecretSweep; status: CredentialStatusView
  share: SharedTokenStore } {
  const { secrets, shared, lwa, catalogue, dispatcher, events } = upstreams
  const share = shared ? (deps.spans ? tracedShare(shared.store, deps.spans) : shared.store) : new LocalTokenShare()
  const tokenLogger = deps.logger.child({ component: 'tokens' })
  const traced: { spans?: Spans } = deps.spans ? { spans: deps.spans } : {}
  const optional = { ...(deps.random ? { random: deps.random } : {}), ...traced }
  const source = new TokenSource({ config, secrets, lwa, clock, logger: tokenLogger, events, ...optional })
  const tokens = new TokenService({
    config, catalogue, secrets, source, share, clock, logger: tokenLogger, events, ...optional,
  })
  const profiles = new ProfileBook({
    catalogue, tokens, clock, logger: deps.logger.child({ component: 'ads' }), settings: config.ads,
    tokenMinTtlSeconds: config.tokens.defaultMinTtlSeconds,
    read: (region, token, clientId) => readAdsProfiles({ ads: config.ads, dispatcher }, region, token, clientId),
  })
  const sweep = new SecretSweep({
    secrets, ids: () => catalogue.secretIds(), clock,
    retryMs: config.secrets.refreshSeconds * 1000, concurrency: sweepConcurrency,
  })
  const status = new CredentialStatusView({
    catalogue, tokens, stageOf: (name) => source.stageOf(name), secretProblem: (id) => sweep.problem(id),
  })
  metrics.observe(
    { now: () => clock.now(), credentials: () => status.list(), secrets: () => secrets.status?.() ?? [] },
    { counts: () => catalogue.counts(), clashes: () => catalogue.clashCount(), now: () => clock.now() },
  )
  return { tokens, profiles, sweep, status, share }
}
