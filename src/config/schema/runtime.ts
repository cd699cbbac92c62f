import { Type } from 'typebox'
import { closed, NonEmpty } from './common.js'

export const Tokens = Type.Object({
  /** Start a background refresh once less than this fraction of a token's lifetime is left. */
  refreshAheadRatio: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 }),
  defaultMinTtlSeconds: Type.Integer({ minimum: 0, maximum: 3000, default: 60 }),
  /**
   * Refresh points are spread by up to this fraction of a token's lifetime, so credentials do not refresh in
   * lockstep.
   */
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

/**
 * POST /auth/o2/token, for SDKs that cache a token for a fixed time whatever `expires_in` says
 * and give up on a token request after a few seconds (README: Pointing an SDK at the broker).
 */
export const LwaCompat = Type.Object({
  /**
   * Every token answered here has at least this long left (the caller's larger min_ttl wins), so an SDK that caches
   * for a fixed time (python-amazon-sp-api: 3200 s of a 3600 s token) never uses it past expiry. 0: no floor.
   */
  minRemainingSeconds: Type.Integer({ minimum: 0, maximum: 3500, default: 3300 }),
  /**
   * A background refresh starts when the cached token has less than the floor plus this left, so callers here
   * rarely wait for LWA.
   */
  refreshAheadSeconds: Type.Integer({ minimum: 0, maximum: 600, default: 60 }),
  /**
   * No request here waits longer than this (from its arrival) for a token or for its caller's JWT keys; then 503
   * `temporarily_unavailable` with Retry-After, before the SDK's own token timeout (httpx: 5 s) fires.
   */
  deadlineMs: Type.Integer({ minimum: 100, maximum: 60000, default: 4000 }),
}, { ...closed, default: {} })

export const Shutdown = Type.Object({
  /** After SIGTERM, answer /readyz 503 for this long before closing, so Kubernetes stops routing here. */
  drainSeconds: Type.Integer({ minimum: 0, maximum: 120, default: 5 }),
  /** Then in-flight requests get this long to finish before connections are closed. */
  graceSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 20 }),
}, { ...closed, default: {} })

const RedisEndpoint = Type.Object({
  host: NonEmpty,
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
}, closed)

/** A master that Redis Sentinel watches and fails over; the broker asks the sentinels where it is. */
const RedisSentinel = Type.Object({
  /** The master's name, as in the sentinels' `sentinel monitor <name> ...`. */
  name: NonEmpty,
  sentinels: Type.Array(RedisEndpoint, { minItems: 1 }),
  /** TLS to the sentinels and to the servers they name. */
  tls: Type.Optional(Type.Boolean()),
  /** The sentinels' own AUTH password (their requirepass), if they have one. */
  passwordFile: Type.Optional(NonEmpty),
}, closed)

/** Redis Cluster (ElastiCache cluster mode): some nodes to start from, the rest is discovered. */
const RedisCluster = Type.Object({
  nodes: Type.Array(RedisEndpoint, { minItems: 1 }),
  tls: Type.Optional(Type.Boolean()),
}, closed)

/** Where tokens, refresh locks and rate-limit counters live: this process, or Redis shared by all replicas. */
export const Cache = Type.Object({
  backend: Type.Enum(['memory', 'redis'], { default: 'memory' }),
  /** redis, exactly one of: one endpoint, e.g. redis://redis.lwa-broker.svc:6379/0 (rediss:// for TLS)... */
  url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** ...a master behind Redis Sentinel... */
  sentinel: Type.Optional(RedisSentinel),
  /** ...or a Redis Cluster. */
  cluster: Type.Optional(RedisCluster),
  /** The Redis servers' ACL user, when not `default` (with url, it may be in the URL instead). */
  username: Type.Optional(NonEmpty),
  /** A file holding the Redis servers' AUTH password (the sentinels' is their own), so it stays out of this file. */
  passwordFile: Type.Optional(NonEmpty),
  keyPrefix: Type.String({ minLength: 1, default: 'lwa-broker:' }),
  /** redis: the AES-256-GCM key for tokens at rest, from a file (32 bytes, raw or base64)... */
  encryptionKeyFile: Type.Optional(NonEmpty),
  /** ...or from a Secrets Manager secret whose field `key` holds it (base64). Never from this file. */
  encryptionKeySecret: Type.Optional(NonEmpty),
}, { ...closed, default: {} })

/**
 * How log lines (operational and audit) reach their destination. `buffered`: written in the
 * background, every `flushMs` or once 32 KiB are pending, and always on SIGTERM/SIGINT and at exit;
 * a SIGKILL, an OOM kill or a crash of the runtime loses at most the last `flushMs` of lines.
 * `sync`: each line is written before the request goes on (every line survives a SIGKILL;
 * costs a write system call per line on the request path).
 */
export const Logs = Type.Object({
  mode: Type.Enum(['buffered', 'sync'], { default: 'buffered' }),
  flushMs: Type.Integer({ minimum: 10, maximum: 5000, default: 100 }),
}, { ...closed, default: {} })

export const Audit = Type.Object({
  /** Where audit events go: `stdout`, `stderr`, or a file path (appended). */
  destination: Type.String({ minLength: 1, default: 'stdout' }),
}, { ...closed, default: {} })
