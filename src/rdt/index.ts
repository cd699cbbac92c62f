import type { SharedCache } from '../cache/index.js'
import type { Metrics } from '../observability/metrics.js'
import type { Live } from '../reload.js'
import { LocalPace, RedisPace } from './pace.js'
import { RdtMetrics } from './rdt-metrics.js'
import { RestrictedDataTokens, type RdtDeps } from './restricted-data-tokens.js'

export { maxRestrictedResources, oneResourceSet, restrictedMethods, resourceSet } from './resources.js'
export type { RestrictedResource, ResourceSet } from './resources.js'
export type { IssuedRdt, RdtDeps } from './restricted-data-tokens.js'
export { RestrictedDataTokens }

/** With Redis, every replica keeps one pace per seller; alone, this replica keeps its own. */
export function createRestrictedDataTokens(
  live: Live,
  parts: Pick<RdtDeps, 'catalogue' | 'tokens' | 'share' | 'clock' | 'dispatcher'>
    & { metrics: Metrics; shared: SharedCache | undefined },
): RestrictedDataTokens {
  const { metrics, shared, ...deps } = parts
  return new RestrictedDataTokens({
    ...deps,
    pace: shared ? new RedisPace(shared.rateLimitRedis) : new LocalPace(),
    metrics: new RdtMetrics(metrics.registry),
    settings: () => ({ spApi: live.current.config.spApi, deadlineMs: live.current.config.tokens.requestDeadlineMs }),
  })
}
