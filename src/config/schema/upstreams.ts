import { Type } from 'typebox'
import { closed, NonEmpty, Url } from './common.js'

export const Secrets = Type.Object({
  backend: Type.Enum(['file', 'aws']),
  /** file backend: a JSON or YAML object mapping secret id -> secret object. */
  path: Type.Optional(NonEmpty),
  /** aws backend */
  region: Type.Optional(NonEmpty),
  endpoint: Type.Optional(Url),
  refreshSeconds: Type.Integer({ minimum: 5, maximum: 86400, default: 300 }),
}, closed)

/** One URL per LWA region; a region left out uses the documented host. */
const regionalEndpoints = () => Type.Object({
  na: Type.Optional(Url),
  eu: Type.Optional(Url),
  fe: Type.Optional(Url),
}, { ...closed, default: {} })

export const Lwa = Type.Object({
  endpoints: regionalEndpoints(),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** Attempts per refresh for retryable failures (5xx, resets, timeouts), within the request deadline. */
  attempts: Type.Integer({ minimum: 1, maximum: 5, default: 3 }),
  /**
   * A token is trusted for at most this long, whatever `expires_in` says (LWA says 3600). An
   * `expires_in` beyond a day is not an LWA answer at all: it is refused as malformed.
   */
  maxTokenLifetimeSeconds: Type.Integer({ minimum: 60, maximum: 86400, default: 3600 }),
}, { ...closed, default: {} })

/** The Ads API's regional hosts (LWA.md), for reading an advertiser's profiles; tests point them at an emulator. */
export const Ads = Type.Object({
  endpoints: regionalEndpoints(),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /**
   * How often the profile list of an Ads credential used with `profile=` (or onboarded) is
   * read again; 0: only when a caller asks for a profile not yet known.
   */
  profilesRefreshSeconds: Type.Integer({ minimum: 0, maximum: 604800, default: 21600 }),
  /** At most one read per credential this often: unknown profile ids cannot make the broker hammer the Ads API. */
  profilesMinRefreshSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
}, { ...closed, default: {} })

/** The Tokens API's documented usage plan for createRestrictedDataToken (SPAPI.md), per seller and app. */
export const tokensApiPlan = { ratePerSecond: 1, burst: 10 } as const

/** The Selling Partner API's regional hosts, for rotating app secrets and minting Restricted Data Tokens. */
export const SpApi = Type.Object({
  endpoints: regionalEndpoints(),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  restrictedDataTokens: Type.Object({
    /**
     * The pace the broker keeps per seller and app. Amazon's `x-amzn-RateLimit-Limit` replaces the
     * rate once it is heard; lower both when other systems mint RDTs for the same sellers.
     */
    ratePerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: tokensApiPlan.ratePerSecond }),
    burst: Type.Integer({ minimum: 1, maximum: 100, default: tokensApiPlan.burst }),
    /** RDTs kept per replica (each one resource set of one credential); the oldest goes first. */
    maxCached: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    /** A caller's `min_ttl` when it sends none. */
    defaultMinTtlSeconds: Type.Integer({ minimum: 0, maximum: 1800, default: 60 }),
  }, { ...closed, default: {} }),
}, { ...closed, default: {} })
