import { isDeepStrictEqual } from 'node:util'
import { Authenticator, claimsReadBy, compilePolicy, type CompiledRule } from './auth/index.js'
import { ReplayGuard } from './auth/replay-guard.js'
import type { SharedCache } from './cache/index.js'
import type { Clock } from './clock.js'
import type { BrokerConfig } from './config/index.js'

/**
 * What a config reload swaps, as one object: the config, its compiled policy and the
 * authenticator for its issuers. A request reads `live.current` where it decides, so it
 * decides on one generation, never on half of two.
 */
export interface Generation {
  readonly config: BrokerConfig
  readonly policy: readonly CompiledRule[]
  readonly authenticator: Authenticator
}

export interface Live {
  readonly current: Generation
}

/**
 * The settings a reload may change. Everything else is bound to sockets, connections,
 * timers or sizes made at start-up (listen addresses, the cache backend, the secret backend,
 * the rate-limit window), so a change there is refused with the field named.
 */
const reloadable = [
  'credentials', 'policy', 'issuers', 'rateLimit.max', 'rateLimit.unauthenticatedMax',
] as const

export function createGeneration(config: BrokerConfig, clock: Clock, shared: SharedCache | undefined): Generation {
  const policy = compilePolicy(config.policy)
  const authenticator = new Authenticator(config.issuers, {
    clock,
    allowInsecureEndpoints: config.allowInsecureEndpoints,
    replay: new ReplayGuard(config.auth.replayCache.maxEntries, shared?.store),
    cache: {
      maxEntries: config.auth.verifiedTokenCache.maxEntries,
      maxAgeMs: config.auth.verifiedTokenCache.maxAgeSeconds * 1000,
    },
    claims: claimsReadBy(policy),
  })
  return { config, policy, authenticator }
}

/**
 * The next generation from a new config, or the fields that cannot change without a
 * restart. Unchanged issuers keep their authenticator: its verified tokens and fetched keys
 * stay good (unless the new policy reads a claim its callers were not kept with), and a
 * reload of the policy alone costs no JWKS fetch.
 */
export function nextGeneration(
  current: Generation,
  config: BrokerConfig,
  clock: Clock,
  shared: SharedCache | undefined,
): Generation | { restartOnly: string[] } {
  const restartOnly = differences(withoutReloadable(current.config), withoutReloadable(config), '')
  if (restartOnly.length > 0) return { restartOnly }
  if (isDeepStrictEqual(current.config.issuers, config.issuers)) {
    const policy = compilePolicy(config.policy)
    current.authenticator.readClaims(claimsReadBy(policy))
    return { config, policy, authenticator: current.authenticator }
  }
  return createGeneration(config, clock, shared)
}

function withoutReloadable(config: BrokerConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>
  for (const path of reloadable) {
    const [head, child] = path.split('.') as [string, string | undefined]
    if (child === undefined) delete copy[head]
    else if (copy[head]) delete copy[head][child]
  }
  return copy
}

/** The dotted paths of the leaves that differ (a whole section when it appears or goes). */
function differences(before: unknown, after: unknown, at: string): string[] {
  if (isDeepStrictEqual(before, after)) return []
  const objects = [before, after].every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
  if (!objects) return [at]
  const keys = new Set([...Object.keys(before as object), ...Object.keys(after as object)])
  return [...keys].flatMap((key) => differences(
    (before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], at ? `${at}.${key}` : key,
  ))
}
