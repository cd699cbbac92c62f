import { createHmac } from 'node:crypto'
import { credentialNamePattern, type RawCredential } from '../config/schema.js'
import { checkSchema, credentialFromTags, fieldOfTag, tagsOf, type TaggedFields } from '../catalogue/tags.js'

/**
 * Bulk import's input: JSON Lines, one credential per line. Each line is checked as the broker will read the
 * secret it becomes (the config's credential schema, then the tags written read back by credentialFromTags),
 * so an entry that passes here is a credential the broker accepts.
 */
export interface ImportEntry {
  line: number
  name: string
  /** `<prefix><name>`: the secret the entry becomes. */
  secretName: string
  tags: Readonly<Record<string, string>>
  /** The SecretString; never printed. */
  secretString: string
  /** The ClientRequestToken, so the version id of the secret's value: an HMAC of it, which does not reveal it. */
  versionId: string
  /** The shared app secret the credential names, checked to exist before anything is written. */
  app: string | undefined
}

export interface InvalidEntry {
  line: number
  /** Only a name that is a valid credential name: whatever else is in the field might be a pasted secret. */
  name: string | undefined
  field: string
  message: string
}

export type ParsedEntry = { ok: true; entry: ImportEntry } | { ok: false; invalid: InvalidEntry }

/** The secret's fields, in the order the value is written (a fixed order keeps the version id stable). */
const secretFields = ['client_id', 'client_secret', 'refresh_token'] as const
type SecretField = (typeof secretFields)[number]

// Secrets Manager's limits on a secret's tags; the config schema already keeps labels within a tag's key and value.
const tagsPerSecretMax = 50
const tagValueCharsMax = 256
/**
 * Fixed and public on purpose: the HMAC separates this use of SHA-256 from any other, it adds no secrecy. What keeps
 * the value out of the version id is that SHA-256 is one-way and a refresh token or client secret has far too much
 * entropy to guess; anyone able to confirm a guess this way could as well try it against LWA.
 */
const versionIdKey = 'lwa-broker import-credentials v1'
const namePattern = new RegExp(credentialNamePattern)

/** Every non-blank line of `text` as an entry or why it is not one; a name seen on an earlier line is invalid. */
export function parseEntries(text: string, prefix: string): ParsedEntry[] {
  const firstLineOf = new Map<string, number>()
  const parsed: ParsedEntry[] = []
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === '') return
    const result = entryOf(index + 1, content, prefix)
    const first = result.ok ? firstLineOf.get(result.entry.name) : undefined
    if (result.ok && first !== undefined) {
      parsed.push(refused(result.entry.line, result.entry.name, 'name', `repeats the credential of line ${first}`))
      return
    }
    if (result.ok) firstLineOf.set(result.entry.name, result.entry.line)
    parsed.push(result)
  })
  return parsed
}

function entryOf(line: number, text: string, prefix: string): ParsedEntry {
  const object = jsonObject(text)
  // JSON.parse's message quotes the text around the error, which may be a token: only the line is named.
  if (!object) return refused(line, undefined, '(line)', 'is not a JSON object')
  const { name, client_id, client_secret, refresh_token, ...fields } = object
  if (typeof name !== 'string' || !namePattern.test(name)) {
    return refused(line, undefined, 'name', 'must be a credential name (letters, digits, ".", "_", "-"; up to 128)')
  }
  if ('secret' in fields) {
    return refused(line, name, 'secret', 'is the secret the import creates; a shared app secret is named by "app"')
  }
  const secretName = `${prefix}${name}`
  const raw: Record<string, unknown> = { ...structuredClone(fields), secret: secretName }
  const checked = checkSchema(raw)
  if (!checked.ok) return refused(line, name, checked.field, checked.message)
  const { credential } = checked
  const value = secretValue(credential, { client_id, client_secret, refresh_token })
  if ('field' in value) return refused(line, name, value.field, value.message)
  const { secret: _written, ...tagged } = credential
  const tags = tagsOf(name, tagged as TaggedFields)
  const tagProblem = tagLimitProblem(tags) ?? readBackProblem(secretName, tags)
  if (tagProblem) return refused(line, name, tagProblem.field, tagProblem.message)
  const secretString = JSON.stringify(value.fields)
  const versionId = createHmac('sha256', versionIdKey).update(`${secretName}\0${secretString}`).digest('hex')
  return { ok: true, entry: { line, name, secretName, tags, secretString, versionId, app: credential.app } }
}

/** What the secret holds follows the broker's layout: the grant's refresh_token, and client_id/secret unless `app`. */
function secretValue(
  credential: RawCredential,
  given: Record<SecretField, unknown>,
): { fields: Partial<Record<SecretField, string>> } | { field: SecretField; message: string } {
  const needsRefreshToken = credential.grant === 'refresh_token'
  const fields: Partial<Record<SecretField, string>> = {}
  for (const field of secretFields) {
    const needed = field === 'refresh_token' ? needsRefreshToken : credential.app === undefined
    const value = given[field]
    if (value === undefined && needed) {
      const why = field === 'refresh_token' ? 'for the refresh_token grant' : 'unless "app" names the app secret'
      return { field, message: `is required ${why}` }
    }
    if (value !== undefined && !needed) {
      const why = field === 'refresh_token' ? 'applies only to the refresh_token grant' : 'is in the secret "app" names'
      return { field, message: `must be left out: it ${why}` }
    }
    if (value === undefined) continue
    if (typeof value !== 'string' || value.length === 0) return { field, message: 'must be a non-empty string' }
    fields[field] = value
  }
  return { fields }
}

function tagLimitProblem(tags: Record<string, string>): { field: string; message: string } | undefined {
  const count = Object.keys(tags).length
  if (count > tagsPerSecretMax) {
    return { field: 'labels', message: `make ${count} tags; a secret holds at most ${tagsPerSecretMax}` }
  }
  const long = Object.entries(tags).find(([, value]) => value.length > tagValueCharsMax)
  return long && { field: fieldOfTag(long[0]), message: `is longer than a tag value may be (${tagValueCharsMax})` }
}

/** The tags as the broker will read them: whatever it would refuse is refused here, named as the entry's field. */
function readBackProblem(
  secretName: string,
  tags: Record<string, string>,
): { field: string; message: string } | undefined {
  const read = credentialFromTags({ arn: secretName, name: secretName, tags })
  return read.ok ? undefined : { field: fieldOfTag(read.problem.tag), message: read.problem.message }
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value)
    return isObject ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function refused(line: number, name: string | undefined, field: string, message: string): ParsedEntry {
  return { ok: false, invalid: { line, name, field, message } }
}
