import { Type, type Static } from 'typebox'
import type { CredentialConfig } from './credentials.js'

/**
 * The config file's schema. Every object is closed (`additionalProperties: false`) so a
 * misspelt key stops start-up instead of being silently ignored. Defaults live here, named,
 * so the rest of the code reads a complete, typed config.
 */
const closed = { additionalProperties: false } as const

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const regions = ['na', 'eu', 'fe'] as const
export const apis = ['ads', 'sp-api', 'appstore'] as const
export const grants = ['refresh_token', 'client_credentials'] as const
/** Asymmetric JWS algorithms: what an issuer with keys (a JWKS) may use. Never `none`. */
export const jwsAlgorithms = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const
/** HMAC algorithms: only for an issuer configured with a shared secret, and then only these. */
export const hmacAlgorithms = ['HS256', 'HS384', 'HS512'] as const

export const credentialNamePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'

const NonEmpty = Type.String({ minLength: 1 })
const Url = Type.String({ pattern: '^https?://' })
const Region = Type.Enum(regions)

const Listen = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
}, { ...closed, default: {} })

/** Limits on every HTTP connection, on the caller listener and the ops listener alike. */
const Http = Type.Object({
  /** The whole request (headers and body) must arrive within this; a stalled body is cut off. */
  requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
  /** The request headers must arrive within this (at most requestTimeoutSeconds). */
  headersTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 10 }),
  /** An idle keep-alive connection is closed after this; above a load balancer's idle timeout (ALB: 60 s). */
  keepAliveTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 72 }),
  /** Open connections per listener; keep well below the process's file-descriptor limit. */
  maxConnections: Type.Integer({ minimum: 1, maximum: 1000000, default: 2048 }),
}, { ...closed, default: {} })

/** The listener for /metrics and the health endpoints: for Prometheus and the kubelet, never for callers. */
const Ops = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8788 }),
  /** A scrape within this long of the last one gets the same text: scrapers cannot cost more than one render per period. */
  metricsCacheSeconds: Type.Integer({ minimum: 0, maximum: 60, default: 5 }),
}, { ...closed, default: {} })

/** Readiness is evaluated on a timer; /readyz answers the last result, so probes cost nothing upstream. */
const Readiness = Type.Object({
  intervalSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 5 }),
}, { ...closed, default: {} })

const Secrets = Type.Object({
  backend: Type.Enum(['file', 'aws']),
  /** file backend: a JSON or YAML object mapping secret id -> secret object. */
  path: Type.Optional(NonEmpty),
  /** aws backend */
  region: Type.Optional(NonEmpty),
  endpoint: Type.Optional(Url),
  refreshSeconds: Type.Integer({ minimum: 5, maximum: 86400, default: 300 }),
}, closed)

const Lwa = Type.Object({
  endpoints: Type.Object({
    na: Type.Optional(Url),
    eu: Type.Optional(Url),
    fe: Type.Optional(Url),
  }, { ...closed, default: {} }),
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
const Ads = Type.Object({
  endpoints: Type.Object({
    na: Type.Optional(Url),
    eu: Type.Optional(Url),
    fe: Type.Optional(Url),
  }, { ...closed, default: {} }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
}, { ...closed, default: {} })

const Tokens = Type.Object({
  /** Start a background refresh once less than this fraction of a token's lifetime is left. */
  refreshAheadRatio: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 }),
  defaultMinTtlSeconds: Type.Integer({ minimum: 0, maximum: 3000, default: 60 }),
  /** Refresh points are spread by up to this fraction of a token's lifetime, so credentials do not refresh in lockstep. */
  refreshJitterRatio: Type.Number({ minimum: 0, maximum: 0.4, default: 0.1 }),
  /** How often the background refresher looks for tokens past their refresh point; 0 turns it off. */
  backgroundRefreshSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  /** A credential nobody asked for in this long is no longer refreshed in the background. */
  idleSeconds: Type.Integer({ minimum: 60, maximum: 604800, default: 3600 }),
  /** No caller waits longer than this for a token; then 503 upstream_unavailable (the refresh goes on). */
  requestDeadlineMs: Type.Integer({ minimum: 100, maximum: 60000, default: 10000 }),
  /** Obtain a token for every credential at start-up, so the first caller does not wait. */
  prewarm: Type.Boolean({ default: false }),
  /** After a failed refresh: exponential backoff with full jitter, at least LWA's Retry-After. */
  retry: Type.Object({
    baseMs: Type.Integer({ minimum: 100, maximum: 60000, default: 1000 }),
    capMs: Type.Integer({ minimum: 1000, maximum: 3600000, default: 120000 }),
    /** After LWA rejected a credential (invalid_grant, …), wait this long before trying it again. */
    rejectedRetrySeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  }, { ...closed, default: {} }),
}, { ...closed, default: {} })

const Shutdown = Type.Object({
  /** After SIGTERM, answer /readyz 503 for this long before closing, so Kubernetes stops routing here. */
  drainSeconds: Type.Integer({ minimum: 0, maximum: 120, default: 5 }),
  /** Then in-flight requests get this long to finish before connections are closed. */
  graceSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 20 }),
}, { ...closed, default: {} })

const RemoteFetch = {
  /** Give up on a JWKS or discovery fetch after this long. */
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** After a fetch, an unknown `kid` triggers another one only after this long. */
  cooldownMs: Type.Integer({ minimum: 0, maximum: 3600000, default: 30000 }),
  /** Refetch keys at least this often, even without an unknown `kid`. */
  cacheMaxAgeMs: Type.Integer({ minimum: 1000, maximum: 86400000, default: 600000 }),
}

/** Where an issuer's keys come from: exactly one source (checked in check.ts). */
const Jwks = Type.Object({
  /** An inline JWKS. */
  keys: Type.Optional(Type.Array(Type.Object({ kty: NonEmpty }), { minItems: 1 })),
  /** A JWKS file (e.g. a mounted ConfigMap); re-read when it changes. */
  file: Type.Optional(NonEmpty),
  /** A JWKS URL. */
  uri: Type.Optional(Url),
  /** OIDC discovery: `{issuer}/.well-known/openid-configuration` names the `jwks_uri`. */
  discovery: Type.Optional(Type.Boolean()),
  /** The Kubernetes API server's `/openid/v1/jwks`. */
  kubernetes: Type.Optional(Type.Object({
    apiServer: Url,
    /** CA bundle the API server's certificate chains to (the pod's service-account CA). */
    caFile: Type.Optional(NonEmpty),
    /** Bearer token file, re-read on every fetch (the kubelet rotates it). */
    tokenFile: Type.Optional(NonEmpty),
  }, closed)),
  ...RemoteFetch,
}, { ...closed, default: {} })

const Issuer = Type.Object({
  issuer: NonEmpty,
  audiences: Type.Array(NonEmpty, { minItems: 1 }),
  algorithms: Type.Array(Type.Enum([...jwsAlgorithms, ...hmacAlgorithms]), { minItems: 1 }),
  jwks: Jwks,
  /** HS* only: a file holding the shared secret (at least 32 bytes); never the secret itself in config. */
  sharedSecretFile: Type.Optional(NonEmpty),
  clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  /** Reject tokens whose `iat` is older than this, whatever their `exp` says. */
  maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Claims a token must carry besides iss, aud, exp and sub (e.g. jti, iat). */
  requiredClaims: Type.Array(NonEmpty, { default: [] }),
  /** The JWS `typ` header the issuer sets, if it sets one (e.g. `JWT`, `at+jwt`). */
  typ: Type.Optional(NonEmpty),
  /**
   * Tokens must carry a `jti`, and each is accepted once: for issuers that mint a token per
   * request. Not for Kubernetes projected tokens, which callers reuse until they rotate.
   */
  requireJti: Type.Boolean({ default: false }),
}, closed)

/** Where the consent pages live, per API and region; defaults are LWA.md's. */
const ConsentUrls = Type.Object({
  na: Type.Optional(Url),
  eu: Type.Optional(Url),
  fe: Type.Optional(Url),
}, closed)

const Onboarding = Type.Object({
  /** The broker's URL as a browser reaches it: the consent redirect comes back to `{publicUrl}/oauth/callback`. */
  publicUrl: Url,
  /** How long an onboarding link from POST /admin/onboarding stays usable (one use). */
  linkTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  /** How long the person has on Amazon's consent page before `state` expires. */
  stateTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  consentUrls: Type.Object({
    ads: Type.Optional(ConsentUrls),
    'sp-api': Type.Optional(ConsentUrls),
  }, { ...closed, default: {} }),
}, closed)

const CredentialOnboarding = Type.Object({
  /** SP-API: the application id (amzn1.sp.solution…) the seller authorises. */
  applicationId: Type.Optional(NonEmpty),
  /** SP-API: the app is a draft, so the consent URL carries version=beta. */
  draft: Type.Boolean({ default: false }),
}, closed)

const Credential = Type.Object({
  api: Type.Enum(apis),
  region: Region,
  grant: Type.Enum(grants, { default: 'refresh_token' }),
  /** Secret holding refresh_token (and client_id/client_secret unless `app` is set). */
  secret: Type.Optional(NonEmpty),
  /** Secret holding client_id and client_secret, shared by many grant secrets. */
  app: Type.Optional(NonEmpty),
  scope: Type.Optional(NonEmpty),
  profileId: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  onboarding: Type.Optional(CredentialOnboarding),
}, closed)

const RateLimit = Type.Object({
  /** Requests per caller per window. */
  max: Type.Integer({ minimum: 1 }),
  /**
   * Requests per window of all this rule's callers together: a rule whose subject is a glob
   * lets its callers mint new subjects, and each would otherwise get a budget of its own.
   */
  aggregateMax: Type.Optional(Type.Integer({ minimum: 1 })),
}, closed)

const PolicyRule = Type.Object({
  issuer: Type.Optional(NonEmpty),
  subject: NonEmpty,
  /** Claim path (nested with `/`, e.g. `kubernetes.io/namespace`) -> glob the claim must match. */
  claims: Type.Record(NonEmpty, Type.String(), { default: {} }),
  /** Shorthand for the `kubernetes.io` claims of a projected service-account token (globs). */
  kubernetes: Type.Optional(Type.Object({
    namespace: Type.Optional(NonEmpty),
    serviceAccount: Type.Optional(NonEmpty),
    pod: Type.Optional(NonEmpty),
  }, closed)),
  credentials: Type.Array(NonEmpty, { default: [] }),
  admin: Type.Boolean({ default: false }),
  /** This rule's callers get this limit instead of the global one. */
  rateLimit: Type.Optional(RateLimit),
}, closed)

const Auth = Type.Object({
  /** Verified JWTs are remembered (by hash) so repeated calls skip the signature check. */
  verifiedTokenCache: Type.Object({
    maxEntries: Type.Integer({ minimum: 0, maximum: 1000000, default: 10000 }),
    /** An entry lives at most this long (and never past the token's own expiry). */
    maxAgeSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  }, { ...closed, default: {} }),
  /** `jti`s seen from issuers with requireJti, kept until their token expires; when full, new tokens are refused. */
  replayCache: Type.Object({
    maxEntries: Type.Integer({ minimum: 1, maximum: 10000000, default: 100000 }),
  }, { ...closed, default: {} }),
}, { ...closed, default: {} })

const RateLimits = Type.Object({
  /** Requests per authenticated caller (issuer + subject) per window. */
  max: Type.Integer({ minimum: 1, default: 600 }),
  timeWindowSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  /** Requests per client address per window for callers that fail to authenticate. */
  unauthenticatedMax: Type.Integer({ minimum: 1, default: 60 }),
  /**
   * Signature checks per client address per window (JWTs not already verified): checked
   * before the signature, so a flood of fresh tokens cannot make the broker burn CPU.
   */
  verificationsPerAddress: Type.Integer({ minimum: 1, default: 300 }),
  /** Onboarding page requests per client address per window (the pages need no JWT). */
  onboardingMax: Type.Integer({ minimum: 1, default: 30 }),
  /** Callers (and addresses) tracked at once; more active callers than this and the limit leaks. */
  trackedCallers: Type.Integer({ minimum: 1000, maximum: 10000000, default: 100000 }),
}, { ...closed, default: {} })

/** Where tokens, refresh locks and rate-limit counters live: this process, or Redis shared by all replicas. */
const Cache = Type.Object({
  backend: Type.Enum(['memory', 'redis'], { default: 'memory' }),
  /** redis: e.g. redis://redis.lwa-broker.svc:6379/0 (rediss:// for TLS). */
  url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  keyPrefix: Type.String({ minLength: 1, default: 'lwa-broker:' }),
  /** redis: the AES-256-GCM key for tokens at rest, from a file (32 bytes, raw or base64)... */
  encryptionKeyFile: Type.Optional(NonEmpty),
  /** ...or from a Secrets Manager secret whose field `key` holds it (base64). Never from this file. */
  encryptionKeySecret: Type.Optional(NonEmpty),
}, { ...closed, default: {} })

const Audit = Type.Object({
  /** Where audit events go: `stdout`, `stderr`, or a file path (appended). */
  destination: Type.String({ minLength: 1, default: 'stdout' }),
}, { ...closed, default: {} })

export const ConfigSchema = Type.Object({
  /** `sidecar`: bind loopback only and refuse proxied requests (a confused-deputy guard). */
  mode: Type.Enum(['central', 'sidecar'], { default: 'central' }),
  listen: Listen,
  http: Http,
  ops: Ops,
  readiness: Readiness,
  /**
   * Allow plain http:// to non-loopback LWA, JWKS, Kubernetes API server, Secrets Manager and
   * onboarding URLs. Never in production: tokens and keys would cross the network in clear.
   */
  allowInsecureEndpoints: Type.Boolean({ default: false }),
  logLevel: Type.Enum(logLevels, { default: 'info' }),
  secrets: Secrets,
  lwa: Lwa,
  ads: Ads,
  tokens: Tokens,
  shutdown: Shutdown,
  /** Optional: lets admins hand out consent links that store the refresh token themselves. */
  onboarding: Type.Optional(Onboarding),
  cache: Cache,
  auth: Auth,
  rateLimit: RateLimits,
  audit: Audit,
  issuers: Type.Array(Issuer, { minItems: 1 }),
  credentials: Type.Record(Type.String({ pattern: credentialNamePattern }), Credential, closed),
  policy: Type.Array(PolicyRule, { default: [] }),
}, closed)

/** The config file as the schema checks it; load.ts turns its credentials into typed variants. */
export type RawConfig = Static<typeof ConfigSchema>
export type RawCredential = Static<typeof Credential>
export type RawSecrets = Static<typeof Secrets>
/** The config the broker runs on: every credential one of its typed variants (credentials.ts). */
export type BrokerConfig = Omit<RawConfig, 'credentials'> & { credentials: Readonly<Record<string, CredentialConfig>> }
export type IssuerConfig = Static<typeof Issuer>
export type PolicyRuleConfig = Static<typeof PolicyRule>
export type Region = (typeof regions)[number]
export type Api = (typeof apis)[number]
