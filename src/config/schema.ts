import { Type, type Static } from 'typebox'

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
/** Asymmetric JWS algorithms only: `none` and HS* can never be configured for a caller issuer. */
export const jwsAlgorithms = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const

export const credentialNamePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'

const NonEmpty = Type.String({ minLength: 1 })
const Url = Type.String({ pattern: '^https?://' })
const Region = Type.Enum(regions)

const Listen = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787 }),
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
}, { ...closed, default: {} })

const Tokens = Type.Object({
  /** Start a background refresh once less than this fraction of a token's lifetime is left. */
  refreshAheadRatio: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 }),
  defaultMinTtlSeconds: Type.Integer({ minimum: 0, maximum: 3000, default: 60 }),
  /** After a failed background refresh, wait this long before the next attempt. */
  refreshRetrySeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
}, { ...closed, default: {} })

/** Exactly one of `keys` (an inline JWKS) or `file` (a JWKS file); checked in validate.ts. */
const Jwks = Type.Object({
  keys: Type.Optional(Type.Array(Type.Object({ kty: NonEmpty }), { minItems: 1 })),
  file: Type.Optional(NonEmpty),
}, closed)

const Issuer = Type.Object({
  issuer: NonEmpty,
  audiences: Type.Array(NonEmpty, { minItems: 1 }),
  algorithms: Type.Array(Type.Enum(jwsAlgorithms), { minItems: 1 }),
  jwks: Jwks,
  clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  /** Reject tokens whose `iat` is older than this, whatever their `exp` says. */
  maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
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
}, closed)

const PolicyRule = Type.Object({
  issuer: Type.Optional(NonEmpty),
  subject: NonEmpty,
  credentials: Type.Array(NonEmpty, { default: [] }),
  admin: Type.Boolean({ default: false }),
}, closed)

export const ConfigSchema = Type.Object({
  listen: Listen,
  logLevel: Type.Enum(logLevels, { default: 'info' }),
  secrets: Secrets,
  lwa: Lwa,
  tokens: Tokens,
  issuers: Type.Array(Issuer, { minItems: 1 }),
  credentials: Type.Record(Type.String({ pattern: credentialNamePattern }), Credential, closed),
  policy: Type.Array(PolicyRule, { default: [] }),
}, closed)

export type BrokerConfig = Static<typeof ConfigSchema>
export type CredentialConfig = Static<typeof Credential>
export type IssuerConfig = Static<typeof Issuer>
export type PolicyRuleConfig = Static<typeof PolicyRule>
export type Region = (typeof regions)[number]
export type Api = (typeof apis)[number]
