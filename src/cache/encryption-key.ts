import { readFile } from 'node:fs/promises'
import type { BrokerConfig } from '../config/index.js'
import { SecretError, type SecretStore } from '../secrets/index.js'
import { keyFieldOf } from '../secrets/key-field.js'
import { encryptionKeyBytes } from './token-cipher.js'

const base64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/**
 * The key that seals tokens in Redis: from `cache.encryptionKeyFile` (32 raw bytes, or
 * their base64) or from the `key` field (base64) of the `cache.encryptionKeySecret` secret.
 * Read once at start-up; every replica must hold the same key. Errors name where the key
 * came from, never its bytes.
 */
export async function loadEncryptionKey(cache: BrokerConfig['cache'], secrets: SecretStore): Promise<Buffer> {
  if (cache.encryptionKeyFile !== undefined) {
    const bytes = await readFile(cache.encryptionKeyFile)
    const key = bytes.length === encryptionKeyBytes ? bytes : decodeBase64(bytes.toString('utf8').trim())
    if (key?.length !== encryptionKeyBytes) {
      throw new Error(`cache.encryptionKeyFile ${cache.encryptionKeyFile}: must hold ${encryptionKeyBytes} bytes, `
        + 'raw or base64 (e.g. openssl rand -base64 32)')
    }
    return key
  }
  if (cache.encryptionKeySecret !== undefined) {
    const id = cache.encryptionKeySecret
    const key = decodeBase64(await keyFieldOf(secrets, id, 'the base64 token encryption key'))
    if (key?.length !== encryptionKeyBytes) {
      throw new SecretError('malformed', id, `field "key" must be ${encryptionKeyBytes} bytes in base64`, {
        field: 'key',
      })
    }
    return key
  }
  throw new TypeError('cache.encryptionKeyFile or cache.encryptionKeySecret is required with the Redis cache')
}

/** Node's base64 decoder also takes the URL-safe alphabet; anything else is refused, not skipped. */
function decodeBase64(text: string): Buffer | undefined {
  return base64.test(text) ? Buffer.from(text, 'base64') : undefined
}
