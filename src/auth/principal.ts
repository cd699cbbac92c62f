import type { JWTPayload } from 'jose'

/** A caller whose JWT has been verified. */
export interface Principal {
  issuer: string
  subject: string
  claims: Readonly<JWTPayload>
  /** Verified token's expiry, ms since epoch. */
  expiresAtMs: number
  /** Its `iat`, when it has one. */
  issuedAtMs: number | undefined
}
