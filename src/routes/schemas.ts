import { Type, type Static } from 'typebox'
import { apis, credentialNamePattern, regions } from '../config/schema.js'
import { errorStatus } from '../errors.js'

/** Route schemas: they validate input, serialise output, and are what openapi.yaml must agree with. */
export const maxMinTtlSeconds = 3000

export const TokenQuery = Type.Object({
  credential: Type.String({ pattern: credentialNamePattern }),
  min_ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: maxMinTtlSeconds })),
}, { additionalProperties: false })
export type TokenQuery = Static<typeof TokenQuery>

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.String(),
  expires_in: Type.Integer(),
  expires_at: Type.String({ format: 'date-time' }),
  credential: Type.String(),
  api: Type.Enum(apis),
  region: Type.Enum(regions),
  headers: Type.Record(Type.String(), Type.String()),
})
export type TokenResponse = Static<typeof TokenResponse>

export const ErrorResponse = Type.Object({
  error: Type.Enum(Object.keys(errorStatus) as (keyof typeof errorStatus)[]),
  message: Type.String(),
  request_id: Type.String(),
})
export type ErrorResponse = Static<typeof ErrorResponse>

export const HealthResponse = Type.Object({ status: Type.Literal('ok') })

export const ReadyResponse = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  checks: Type.Record(Type.String(), Type.Enum(['ok', 'failing'])),
})
export type ReadyResponse = Static<typeof ReadyResponse>

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const CredentialStatusSchema = Type.Object({
  credential: Type.String(),
  api: Type.Enum(apis),
  region: Type.Enum(regions),
  health: Type.Enum(['healthy', 'degraded', 'rejected', 'misconfigured']),
  token_expires_at: Nullable(Type.String({ format: 'date-time' })),
  last_refresh_at: Nullable(Type.String({ format: 'date-time' })),
  last_used_at: Nullable(Type.String({ format: 'date-time' })),
  secret_versions: Nullable(Type.Object({ app: Type.String(), grant: Nullable(Type.String()) })),
  /** Set while a secret is used from another stage than AWSCURRENT (a rotation under way): the credential is degraded. */
  secret_stage: Nullable(Type.Object({ secret: Type.Enum(['app', 'grant']), stage: Type.Enum(['AWSPENDING', 'AWSPREVIOUS']) })),
  last_error: Nullable(Type.Object({
    code: Type.String(),
    lwa_error: Nullable(Type.String()),
    at: Type.String({ format: 'date-time' }),
    since: Type.String({ format: 'date-time' }),
    retry_at: Type.String({ format: 'date-time' }),
    consecutive_failures: Type.Integer(),
  })),
})
export type CredentialStatusBody = Static<typeof CredentialStatusSchema>

export const CredentialListResponse = Type.Object({ credentials: Type.Array(CredentialStatusSchema) })

export const CredentialParams = Type.Object({ name: Type.String({ pattern: credentialNamePattern }) }, { additionalProperties: false })
export type CredentialParams = Static<typeof CredentialParams>

export const ReloadResponse = Type.Object({ reloaded_secrets: Type.Integer() })

export const OnboardingRequest = Type.Object({
  credential: Type.String({ pattern: credentialNamePattern }),
  /** The Amazon account the link may connect (SP-API: the selling partner id; Ads: the account ids, comma-separated); another is refused. */
  expected_account: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._,-]{1,512}$' })),
  /** The link may connect another account than the one the credential is connected to now. */
  replace: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })
export type OnboardingRequest = Static<typeof OnboardingRequest>

export const OnboardingLink = Type.Object({ url: Type.String(), expires_at: Type.String({ format: 'date-time' }) })
