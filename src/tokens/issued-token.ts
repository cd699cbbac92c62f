import type { CredentialConfig } from '../config/index.js'
import { withMemo, type Memo } from '../memo.js'
import { apiHeaders } from './api-headers.js'
import type { BrokerToken } from './token-source.js'

/** A cached token as callers are given it, with what the target API wants alongside. */
export interface IssuedToken extends BrokerToken {
  credential: string
  config: CredentialConfig
  headers: Record<string, string>
  /** expiresAtMs as ISO 8601 text, formatted once per token rather than per answer. */
  expiresAt: string
  /** What the answer, the audit line and the metrics make of this token, made once. */
  readonly memo: Memo
}

/**
 * Made once per token, when it is cached: every caller of a cached token gets the same object. Its fields are named,
 * not spread from the token: in V8 a spread copy given more fields gets a hidden class of its own, and at 10,000
 * credentials every read of a token's field on the hot path went megamorphic (a heap snapshot held 9,996 classes).
 */
export function issuedToken(name: string, config: CredentialConfig, token: BrokerToken): IssuedToken {
  return withMemo({
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    obtainedAtMs: token.obtainedAtMs,
    expiresAtMs: token.expiresAtMs,
    clientId: token.clientId,
    secretVersions: token.secretVersions,
    credential: name,
    config,
    headers: apiHeaders(config, token.accessToken, token.clientId),
    expiresAt: new Date(token.expiresAtMs).toISOString(),
    memo: undefined,
  })
}
