import { readFile } from 'node:fs/promises'
import type { LifecycleConfig } from '../config/index.js'
import { SecretError, type SecretStore } from '../secrets/index.js'
import { keyFieldOf } from '../secrets/key-field.js'

/** 256 bits, as HMAC-SHA256 wants; e.g. `openssl rand -hex 32`. */
const minKeyChars = 32

/**
 * The webhook signing key: the text of `lifecycle.webhook.keyFile`, or the `key` field of the
 * `keySecret` secret, trimmed, used as is (the receiver holds the same string). Read once at
 * start-up. Errors name where the key came from, never its characters.
 */
export async function loadWebhookKey(
  webhook: NonNullable<LifecycleConfig['webhook']>,
  secrets: SecretStore,
): Promise<string> {
  if (webhook.keyFile !== undefined) {
    const path = webhook.keyFile
    const key = (await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`lifecycle.webhook.keyFile ${path}: cannot be read (${err.code ?? err.message})`)
    })).trim()
    if (key.length < minKeyChars) {
      throw new Error(`lifecycle.webhook.keyFile ${path}: must hold at least ${minKeyChars} characters `
        + '(e.g. openssl rand -hex 32)')
    }
    return key
  }
  if (webhook.keySecret !== undefined) {
    const id = webhook.keySecret
    const key = await keyFieldOf(secrets, id, 'the webhook signing key')
    if (key.length < minKeyChars) {
      throw new SecretError('malformed', id, `field "key" must hold at least ${minKeyChars} characters`, {
        field: 'key',
      })
    }
    return key
  }
  throw new TypeError('lifecycle.webhook.keyFile or lifecycle.webhook.keySecret is required')
}
