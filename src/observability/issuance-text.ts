import { createHash } from 'node:crypto'
import { flat, jsonText } from '../strings.js'
import type { Memo } from '../memo.js'

/** A short, stable, non-reversible handle on a token: enough to correlate, useless to replay. */
export function fingerprint(token: string): string {
  return flat(['sha256:', createHash('sha256').update(token).digest('hex').slice(0, 16)])
}

/** The fixed fields of each kind of issuance line. */
export interface IssuanceKind { event: string; msg: string }
export const tokenIssued: IssuanceKind = {
  event: ',"event":"token.issued","outcome":"allowed"', msg: ',"msg":"token issued"}\n',
}
export const rdtIssued: IssuanceKind = {
  event: ',"event":"rdt.issued","outcome":"allowed"', msg: ',"msg":"restricted data token issued"}\n',
}

/**
 * A token's own part of its issuance lines, each piece a string the line is joined from: the
 * credential it was made for, what identifies the token (its fingerprint, never the token) and
 * its expiry. The credential name and expiry are the token's own strings where JSON leaves them
 * as they are, so the memo adds little more than the fingerprint.
 */
interface TokenPart {
  credential: string | undefined
  credentialText: string
  restricted: string
  fingerprint: string
  expiresAt: string
}

/** In each token's memo (a cached token is issued many times): its part of the line, hashed and formatted once. */
const tokenPart = Symbol('audit token part')

/**
 * The rest of an issuance line: the credential, the event, the token's part, the message. What
 * differs per token is made once and kept in its memo; the fixed fields of its kind are shared.
 */
export function issuanceText(
  issued: { expiresAtMs: number; expiresAt?: string; paths?: string[]; memo: Memo },
  token: string,
  credential: string | undefined,
  kind: IssuanceKind,
): string {
  let known = issued.memo[tokenPart] as TokenPart | undefined
  if (!known || known.credential !== credential) {
    known = {
      credential,
      credentialText: credential === undefined ? '' : jsonText(credential),
      restricted: issued.paths ? `,"restrictedPaths":${JSON.stringify(issued.paths)}` : '',
      fingerprint: fingerprint(token),
      expiresAt: issued.expiresAt ?? new Date(issued.expiresAtMs).toISOString(),
    }
    issued.memo[tokenPart] = known
  }
  const credentialField = credential === undefined ? '' : ',"credential":"' + known.credentialText + '"'
  return credentialField + kind.event + known.restricted + ',"tokenFingerprint":"' + known.fingerprint
    + '","expiresAt":"' + known.expiresAt + '"' + kind.msg
}
