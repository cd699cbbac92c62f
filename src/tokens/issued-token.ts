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

/** Built once per token: every caller of a cached token gets the same object. */
export class IssuedTokens {
  private readonly issued = new WeakMap<BrokerToken, IssuedToken>()

  of(name: string, config: CredentialConfig, token: BrokerToken): IssuedToken {
    let issued = this.issued.get(token)
    if (!issued) {
      issued = withMemo({
        ...token,
        credential: name,
        config,
        headers: apiHeaders(config, token.accessToken, token.clientId),
        expiresAt: new Date(token.expiresAtMs).toISOString(),
      })
      this.issued.set(token, issued)
    }
    return issued
  }
}
