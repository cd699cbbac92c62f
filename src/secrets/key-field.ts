import { SecretError, type SecretStore } from './secret-store.js'

/** The trimmed string `key` field of a secret that holds a key (token encryption, webhook signing); `what` names it. */
export async function keyFieldOf(secrets: SecretStore, id: string, what: string): Promise<string> {
  const field = (await secrets.get(id)).fields.key
  if (typeof field !== 'string') {
    throw new SecretError('missing_field', id, `has no string field "key" (${what})`, { field: 'key' })
  }
  return field.trim()
}
