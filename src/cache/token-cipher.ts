import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { BrokerToken } from '../tokens/index.js'

/** AES-256-GCM: a 32-byte key, a fresh 12-byte IV per token, a 16-byte tag. */
export const encryptionKeyBytes = 32
const ivBytes = 12
const tagBytes = 16
const algorithm = 'aes-256-gcm'
/** Names the format, so a later one can be told apart from this. */
const formatTag = 'v1'

/**
 * Seals tokens for storage outside this process (Redis) and opens them again. The
 * credential name is the additional authenticated data, so a token moved to another
 * credential's key does not open; a wrong key or any changed byte fails the same way.
 */
export class TokenCipher {
  private readonly key: Buffer

  constructor(key: Buffer) {
    if (key.length !== encryptionKeyBytes) {
      throw new TypeError(`the token encryption key must be ${encryptionKeyBytes} bytes, not ${key.length}`)
    }
    this.key = Buffer.from(key)
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, each part base64url. */
  seal(credential: string, token: BrokerToken): string {
    const iv = randomBytes(ivBytes)
    const cipher = createCipheriv(algorithm, this.key, iv, { authTagLength: tagBytes })
    cipher.setAAD(Buffer.from(credential, 'utf8'))
    const { accessToken, tokenType, obtainedAtMs, expiresAtMs, clientId, secretVersions } = token
    const plain = Buffer.from(
      JSON.stringify({ accessToken, tokenType, obtainedAtMs, expiresAtMs, clientId, secretVersions }),
      'utf8',
    )
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()])
    return [formatTag, iv, cipher.getAuthTag(), sealed]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.')
  }

  /** The token sealed for `credential`; throws TokenSealError if the key, credential or bytes do not match. */
  open(credential: string, text: string): BrokerToken {
    const [format, iv, tag, sealed, ...rest] = text.split('.')
    if (format !== formatTag || iv === undefined || tag === undefined || sealed === undefined || rest.length > 0) {
      throw new TokenSealError(credential, 'is not in the expected format')
    }
    let plain: string
    try {
      const decipher = createDecipheriv(algorithm, this.key, Buffer.from(iv, 'base64url'), { authTagLength: tagBytes })
      decipher.setAAD(Buffer.from(credential, 'utf8'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      plain = Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8')
    } catch (err) {
      throw new TokenSealError(credential, 'does not decrypt with this key (another key, or changed)', err)
    }
    return asToken(credential, JSON.parse(plain) as unknown)
  }
}

/** A stored token could not be opened. The message names the credential, never a value. */
export class TokenSealError extends Error {
  constructor(credential: string, detail: string, cause?: unknown) {
    super(`the shared token of credential ${credential} ${detail}`, { cause })
    this.name = 'TokenSealError'
  }
}

/** Authenticated, so written by a replica; checked anyway, since that replica may run another version. */
function asToken(credential: string, value: unknown): BrokerToken {
  const v = value as Partial<BrokerToken> | null
  const ok = v !== null && typeof v === 'object'
    && typeof v.accessToken === 'string' && typeof v.tokenType === 'string' && typeof v.clientId === 'string'
    && typeof v.obtainedAtMs === 'number' && typeof v.expiresAtMs === 'number'
    && typeof v.secretVersions === 'object' && v.secretVersions !== null && typeof v.secretVersions.app === 'string'
  if (!ok) throw new TokenSealError(credential, 'does not hold a token of this version')
  const versions = v.secretVersions as BrokerToken['secretVersions']
  return {
    accessToken: v.accessToken as string,
    tokenType: v.tokenType as string,
    obtainedAtMs: v.obtainedAtMs as number,
    expiresAtMs: v.expiresAtMs as number,
    clientId: v.clientId as string,
    secretVersions: { app: versions.app, grant: typeof versions.grant === 'string' ? versions.grant : undefined },
  }
}
