import type { JWTPayload } from 'jose'
import type { Memo } from '../memo.js'

/** A caller whose JWT has been verified. Never changed once made: policy decisions are remembered per principal. */
export interface Principal {
  readonly issuer: string
  readonly subject: string
  readonly claims: Readonly<JWTPayload>
  /** Verified token's expiry, ms since epoch. */
  readonly expiresAtMs: number
  /** Its `iat`, when it has one. */
  readonly issuedAtMs: number | undefined
  /** What policy, the rate limit and the audit line make of this caller, made once (its rules, its key, its text). */
  readonly memo: Memo
}
