import type { JWTPayload } from 'jose'

/** A caller whose JWT has been verified. Never changed once made: policy decisions are remembered per principal. */
export interface Principal {
  readonly issuer: string
  readonly subject: string
  readonly claims: Readonly<JWTPayload>
  /** Verified token's expiry, ms since epoch. */
  readonly expiresAtMs: number
  /** Its `iat`, when it has one. */
  readonly issuedAtMs: number | undefined
}
