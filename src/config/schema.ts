import { Type, type Static } from 'typebox'
import type { CredentialConfig } from './credentials.js'
import { apis, closed, credentialNamePattern, logLevels, regions } from './schema/common.js'
import { CatalogueSettings } from './schema/catalogue.js'
import { Credential } from './schema/credentials.js'
import { Onboarding } from './schema/onboarding.js'
import { Auth, Issuer } from './schema/issuers.js'
import { Apps } from './schema/apps.js'
import { Lifecycle } from './schema/lifecycle.js'
import { Http, Listen, Ops, Readiness } from './schema/listeners.js'
import { PolicyRule, RateLimits } from './schema/policy.js'
import { Audit, Cache, Logs, LwaCompat, Shutdown, Tokens } from './schema/runtime.js'
import { Ads, Lwa, Secrets, SpApi } from './schema/upstreams.js'

export {
  apis, credentialNamePattern, grants, hmacAlgorithms, jwsAlgorithms, logLevels, regions,
} from './schema/common.js'

/**
 * The config file's schema. Every object is closed (`additionalProperties: false`) so a
 * misspelt key stops start-up instead of being silently ignored. Defaults live here, named,
 * so the rest of the code reads a complete, typed config.
 */
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
  logs: Logs,
  secrets: Secrets,
  lwa: Lwa,
  ads: Ads,
  spApi: SpApi,
  tokens: Tokens,
  lwaCompat: LwaCompat,
  shutdown: Shutdown,
  /** Optional: lets admins hand out consent links that store the refresh token themselves. */
  onboarding: Type.Optional(Onboarding),
  cache: Cache,
  auth: Auth,
  rateLimit: RateLimits,
  audit: Audit,
  issuers: Type.Array(Issuer, { minItems: 1 }),
  credentials: Type.Record(Type.String({ pattern: credentialNamePattern }), Credential, closed),
  /** Optional: credentials declared by tags on their secrets, discovered while the broker runs. */
  catalogue: Type.Optional(CatalogueSettings),
  policy: Type.Array(PolicyRule, { default: [] }),
  /** Credential lifecycle events: audit lines and metrics always; a signed webhook when configured. */
  lifecycle: Lifecycle,
  /** App client secrets: expiry tracking, and new secrets from SP-API's notifications. */
  apps: Apps,
}, closed)

/** The config file as the schema checks it; load.ts turns its credentials into typed variants. */
export type RawConfig = Static<typeof ConfigSchema>
export type RawCredential = Static<typeof Credential>
export type RawSecrets = Static<typeof Secrets>
/** The config the broker runs on: every credential one of its typed variants (credentials.ts). */
export type BrokerConfig = Omit<RawConfig, 'credentials'> & { credentials: Readonly<Record<string, CredentialConfig>> }
export type IssuerConfig = Static<typeof Issuer>
export type PolicyRuleConfig = Static<typeof PolicyRule>
export type CatalogueConfig = Static<typeof CatalogueSettings>
export type LifecycleConfig = Static<typeof Lifecycle>
export type Region = (typeof regions)[number]
export type Api = (typeof apis)[number]
