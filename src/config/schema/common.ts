import { Type } from 'typebox'

export const closed = { additionalProperties: false } as const

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

export const NonEmpty = Type.String({ minLength: 1 })
export const Url = Type.String({ pattern: '^https?://' })
export const Region = Type.Enum(regions)
