import { createHash } from 'node:crypto'
import type { Memo } from '../memo.js'

/** A short, stable, non-reversible handle on a token: enough to correlate, useless to replay. */
export function fingerprint(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 16)
}

/**
 * One flat string: text kept per caller and per token is joined once, not left as a tree of
 * concatenated pieces (each an object on the heap; 10,000 callers held ~6 MB of them).
 */
export const flat = (pieces: string[]): string => pieces.join('')

/** The fixed fields of each kind of issuance line. */
export interface IssuanceKind { event: string; msg: string }
export const tokenIssued: IssuanceKind = {
  event: ',"event":"token.issued","outcome":"allowed"', msg: ',"msg":"token issued"}\n',
}
export const rdtIssued: IssuanceKind = {
  event: ',"event":"rdt.issued","outcome":"allowed"', msg: ',"msg":"restricted data token issued"}\n',
}

/** A token's own part of its issuance lines, and the credential it was made for. */
interface TokenPart { credential: string | undefined; credentialText: string; tokenText: string }

/** In each token's memo (a cached token is issued many times): its part of the line, hashed and formatted once. */
const tokenPart = Symbol('audit token part')

/**
 * The rest of an issuance line: the credential, the event, what identifies the token (its
 * fingerprint, never the token), the message. What differs per token is made once and kept in
 * its memo; the fixed fields of its kind are shared.
 */
export function issuanceText(
  issued: { expiresAtMs: number; paths?: string[]; memo: Memo },
  token: string,
  credential: string | undefined,
  kind: IssuanceKind,
): string {
  let known = issued.memo[tokenPart] as TokenPart | undefined
  if (!known || known.credential !== credential) {
    known = {
      credential,
      credentialText: credential === undefined ? '' : flat([',"credential":', JSON.stringify(credential)]),
      tokenText: flat([
        issued.paths ? `,"restrictedPaths":${JSON.stringify(issued.paths)}` : '',
        `,"tokenFingerprint":"${fingerprint(token)}"`,
        `,"expiresAt":"${new Date(issued.expiresAtMs).toISOString()}"`,
      ]),
    }
    issued.memo[tokenPart] = known
  }
  return known.credentialText + kind.event + known.tokenText + kind.msg
}
