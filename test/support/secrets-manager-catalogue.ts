// What a live credential catalogue needs from the Secrets Manager emulator: tags, listing with the
// service's filters and resumable pages, and scheduled deletion. The HTTP shell, versions and staging
// labels stay in secrets-manager-emulator.ts, which imports this file (never the other way round).

export type Json = Record<string, unknown>

/** A service error: the HTTP layer turns it into `{"__type","Message"}` so the SDK raises its own class. */
export class SmError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message)
  }
}

export const invalidParameter = (message: string): SmError => new SmError('InvalidParameterException', message)
export const invalidRequest = (message: string): SmError => new SmError('InvalidRequestException', message)
/** Constraints from the service model are checked by the front end, in its own words, before the operation runs. */
export const validationError = (value: string, path: string, constraint: string): SmError =>
  new SmError('ValidationException',
    `1 validation error detected: Value '${value}' at '${path}' failed to satisfy constraint: ${constraint}`)
const tooShort = (value: string, path: string, min: number): SmError =>
  validationError(value, path, `Member must have length greater than or equal to ${min}`)
const tooLong = (value: string, path: string, max: number): SmError =>
  validationError(value, path, `Member must have length less than or equal to ${max}`)
const notOneOf = (value: string, path: string, allowed: readonly string[]): SmError =>
  validationError(value, path, `Member must satisfy enum value set: [${allowed.join(', ')}]`)

export const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
export const nowSeconds = (): number => Date.now() / 1000 // the service sends fractional epoch seconds

export interface Version { versionId: string; value: string; stages: Set<string>; createdDate: number }
export interface Secret {
  name: string
  arn: string
  /** Creation order; the default listing order, and what a created-date NextToken resumes after. */
  seq: number
  createdDate: number
  lastChangedDate: number
  versions: Map<string, Version>
  tags: Map<string, string>
  description?: string
  kmsKeyId?: string
  /** When DeleteSecret was called; unset while the secret is live. */
  deletedDate?: number
  /** When the recovery window ends (DeleteSecret's DeletionDate). */
  deletionDate?: number
}

const SECONDS_PER_DAY = 86_400
const RECOVERY_WINDOW_DAYS_DEFAULT = 30
const RECOVERY_WINDOW_DAYS_MIN = 7
const RECOVERY_WINDOW_DAYS_MAX = 30

export function scheduleDeletion(secret: Secret, days = RECOVERY_WINDOW_DAYS_DEFAULT): number {
  const now = nowSeconds()
  secret.deletedDate = now
  secret.deletionDate = now + days * SECONDS_PER_DAY
  secret.lastChangedDate = now
  return secret.deletionDate
}

export function restore(secret: Secret): void {
  if (secret.deletedDate === undefined) throw invalidRequest(`The secret ${secret.name} is not scheduled for deletion.`)
  delete secret.deletedDate
  delete secret.deletionDate
  secret.lastChangedDate = nowSeconds()
}

export function setTags(secret: Secret, tags: Iterable<[string, string]>): void {
  for (const [key, value] of tags) secret.tags.set(key, value)
  secret.lastChangedDate = nowSeconds()
}

export function removeTags(secret: Secret, keys: Iterable<string>): void {
  for (const key of keys) secret.tags.delete(key)
  secret.lastChangedDate = nowSeconds()
}

/** The service leaves out fields without a value, so an untagged secret has no `Tags` at all. */
export function tagList(secret: Secret): Array<{ Key: string; Value: string }> | undefined {
  return secret.tags.size === 0 ? undefined : [...secret.tags].map(([Key, Value]) => ({ Key, Value }))
}

/** Only labelled versions appear in DescribeSecret/ListSecrets; unlabelled ones are deprecated. */
export function stageMap(secret: Secret): Record<string, string[]> {
  const map: Record<string, string[]> = {}
  for (const v of secret.versions.values()) if (v.stages.size > 0) map[v.versionId] = [...v.stages]
  return map
}

// --- input readers: wrong shapes are InvalidParameterException, as the SDK does not validate ---

export function optString(body: Json, key: string): string | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalidParameter(`${key} must be a string.`)
  return value
}

export function reqString(body: Json, key: string): string {
  const value = optString(body, key)
  if (value === undefined) throw invalidParameter(`You must provide a value for ${key}.`)
  return value
}

export function optStrings(body: Json, key: string): string[] | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw invalidParameter(`${key} must be a list of strings.`)
  }
  return value
}

function optInteger(body: Json, key: string): number | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidParameter(`${key} must be an integer.`)
  return value
}

function optBoolean(body: Json, key: string): boolean | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') throw invalidParameter(`${key} must be a boolean.`)
  return value
}

const TOKEN_LENGTH_MIN = 32
const TOKEN_LENGTH_MAX = 64

/** The version id a caller chose (CreateSecret, PutSecretValue); the service model bounds its length. */
export function optToken(body: Json): string | undefined {
  const token = optString(body, 'ClientRequestToken')
  if (token === undefined) return undefined
  if (token.length < TOKEN_LENGTH_MIN) throw tooShort(token, 'clientRequestToken', TOKEN_LENGTH_MIN)
  if (token.length > TOKEN_LENGTH_MAX) throw tooLong(token, 'clientRequestToken', TOKEN_LENGTH_MAX)
  return token
}

const TAG_KEY_LENGTH_MAX = 128
const TAG_VALUE_LENGTH_MAX = 256

/** `[{Key, Value}]` as CreateSecret and TagResource take it; a missing Value is an empty one. */
export function readTags(raw: unknown): Array<[string, string]> {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) throw invalidParameter('Tags must be a list.')
  return raw.map((tag: { Key?: unknown; Value?: unknown } | null, i): [string, string] => {
    const key = tag?.Key
    const value = tag?.Value ?? ''
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw invalidParameter('Each tag needs a string Key and Value.')
    }
    const at = `tags.${i + 1}.member`
    if (key.length === 0) throw tooShort(key, `${at}.key`, 1)
    if (key.length > TAG_KEY_LENGTH_MAX) throw tooLong(key, `${at}.key`, TAG_KEY_LENGTH_MAX)
    if (value.length > TAG_VALUE_LENGTH_MAX) throw tooLong(value, `${at}.value`, TAG_VALUE_LENGTH_MAX)
    return [key, value]
  })
}

// --- listing order: sorted arrays, so a page resumes after a key in O(log n) instead of rescanning ---

export type SortKey = 'created-date' | 'name'

export class SortedSecrets<K extends string | number> {
  readonly items: Secret[] = []

  constructor(readonly keyOf: (secret: Secret) => K) {}

  /** Keys are unique (names among existing secrets, seqs always), so the slot is exact. */
  insert(secret: Secret): void {
    this.items.splice(this.after(this.keyOf(secret)), 0, secret)
  }

  remove(secret: Secret): void {
    const index = this.after(this.keyOf(secret)) - 1
    if (this.items[index] === secret) this.items.splice(index, 1)
  }

  /** Index of the first secret whose key is greater than `key`. */
  after(key: K): number {
    let low = 0
    let high = this.items.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.keyOf(this.items[mid] as Secret) <= key) low = mid + 1
      else high = mid
    }
    return low
  }

  /** Index of the last secret whose key is less than `key`. */
  before(key: K): number {
    let low = 0
    let high = this.items.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.keyOf(this.items[mid] as Secret) < key) low = mid + 1
      else high = mid
    }
    return low - 1
  }
}

/** What the handlers below need from the emulator's store. */
export interface CatalogueStore {
  /** By name or ARN; ResourceNotFoundException when absent. */
  get(id: string): Secret
  /** As `get`, but a secret scheduled for deletion is InvalidRequestException. */
  live(id: string): Secret
  /** Removes a secret at once, as a force delete does. */
  forget(secret: Secret): void
  sorted(by: SortKey): SortedSecrets<string | number>
}

// --- ListSecrets filters ---

type Attributes = (secret: Secret) => string[]
type ValueTest = (strings: readonly string[]) => boolean
type Matcher = (secret: Secret) => boolean

// Replicas and service-owned secrets are not emulated, so those two keys see no attribute values.
const ATTRIBUTES: Record<string, Attributes> = {
  'name': (s) => [s.name],
  'description': (s) => (s.description === undefined ? [] : [s.description]),
  'tag-key': (s) => [...s.tags.keys()],
  'tag-value': (s) => [...s.tags.values()],
  'primary-region': () => [],
  'owning-service': () => [],
  'all': (s) => [s.name, ...(s.description === undefined ? [] : [s.description]), ...s.tags.keys(), ...s.tags.values()],
}
const FILTER_KEYS = ['all', 'name', 'tag-key', 'description', 'tag-value', 'primary-region', 'owning-service']
// description and all match words, case-insensitively: the API docs call description a prefix match, but moto's
// tests verified against AWS show word matching for it, as for all.
const WORD_KEYS = new Set(['description', 'all'])
const FILTER_VALUES_MAX = 10
const FILTER_VALUE_LENGTH_MAX = 512
const FILTER_VALUE_PATTERN = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/

/** Words as the service's search sees them: letters and digits only, split at `aB`, letter/digit and punctuation. */
function words(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9]+/)
    .flatMap((chunk) => chunk.split(/(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/))
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase())
}

/** For word keys `strings` are already the attributes' words, and every word of the value must begin one. */
function positiveTest(byWords: boolean, value: string): ValueTest {
  if (!byWords) return (strings) => strings.some((s) => s.startsWith(value))
  const wanted = words(value)
  return (have) => wanted.length > 0 && wanted.every((w) => have.some((h) => h.startsWith(w)))
}

function compileFilter(raw: unknown, position: number): Matcher {
  const { Key: key, Values: values } = (raw ?? {}) as { Key?: unknown; Values?: unknown }
  const at = `filters.${position}.member`
  if (key === undefined) throw invalidParameter('Invalid filter key')
  const attributes = typeof key === 'string' ? ATTRIBUTES[key] : undefined
  if (attributes === undefined) throw notOneOf(String(key), `${at}.key`, FILTER_KEYS)
  if (!Array.isArray(values) || values.length === 0) {
    throw invalidParameter(`Invalid filter values for key: ${String(key)}`)
  }
  if (values.length > FILTER_VALUES_MAX) throw tooLong(`[${values.join(', ')}]`, `${at}.values`, FILTER_VALUES_MAX)
  const byWords = WORD_KEYS.has(key as string)
  const tests = values.map((value: unknown): ValueTest => {
    if (typeof value !== 'string') throw invalidParameter('Filter values must be strings.')
    if (value.length > FILTER_VALUE_LENGTH_MAX) throw tooLong(value, `${at}.values`, FILTER_VALUE_LENGTH_MAX)
    if (!FILTER_VALUE_PATTERN.test(value)) {
      const constraint = `Member must satisfy regular expression pattern: ${FILTER_VALUE_PATTERN.source}`
      throw validationError(value, `${at}.values`, constraint)
    }
    if (!value.startsWith('!')) return positiveTest(byWords, value)
    const negated = positiveTest(byWords, value.slice(1))
    return (strings) => !negated(strings) // no attribute value matches
  })
  // Several values of one filter are OR.
  return (secret) => {
    const strings = byWords ? attributes(secret).flatMap(words) : attributes(secret)
    return tests.some((test) => test(strings))
  }
}

/** Several filters are AND, including several filters with the same key. */
function compileFilters(raw: unknown): Matcher {
  if (raw === undefined) return () => true
  if (!Array.isArray(raw)) throw invalidParameter('Filters must be a list.')
  const filters = raw.map((filter: unknown, i) => compileFilter(filter, i + 1))
  return (secret) => filters.every((matches) => matches(secret))
}

// --- ListSecrets paging ---

const LIST_PAGE_SIZE_DEFAULT = 100
const LIST_PAGE_SIZE_MAX = 100
// The two orders whose keys never change while a secret exists; pages resume after a key.
const SORT_KEYS: readonly string[] = ['created-date', 'name']
const SORT_BY_VALUES = ['created-date', 'last-accessed-date', 'last-changed-date', 'name']
const INVALID_TOKEN = (): SmError => new SmError('InvalidNextTokenException', 'The NextToken value is invalid.')

interface Listing { by: SortKey; descending: boolean }

function listing(body: Json): Listing {
  const by = optString(body, 'SortBy') ?? 'created-date'
  if (!SORT_BY_VALUES.includes(by)) throw notOneOf(by, 'sortBy', SORT_BY_VALUES)
  if (!SORT_KEYS.includes(by)) throw invalidParameter(`The emulator does not sort by ${by}.`)
  const order = optString(body, 'SortOrder') ?? 'asc'
  if (order !== 'asc' && order !== 'desc') throw notOneOf(order, 'sortOrder', ['asc', 'desc'])
  return { by: by as SortKey, descending: order === 'desc' }
}

function pageSize(body: Json): number {
  const size = optInteger(body, 'MaxResults') ?? LIST_PAGE_SIZE_DEFAULT
  if (size < 1) throw validationError(String(size), 'maxResults', 'Member must have value greater than or equal to 1')
  if (size > LIST_PAGE_SIZE_MAX) {
    const constraint = `Member must have value less than or equal to ${LIST_PAGE_SIZE_MAX}`
    throw validationError(String(size), 'maxResults', constraint)
  }
  return size
}

/** The token names the order and the key of the last secret returned, so inserts and deletes never shift a page. */
function encodeToken({ by, descending }: Listing, key: string | number): string {
  return Buffer.from(JSON.stringify([by, descending, key])).toString('base64url')
}

function decodeToken(token: string, { by, descending }: Listing): string | number {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw INVALID_TOKEN()
  }
  const [tokenBy, tokenDescending, key] = Array.isArray(decoded) && decoded.length === 3 ? decoded : []
  const keyType = by === 'name' ? 'string' : 'number'
  if (tokenBy !== by || tokenDescending !== descending || typeof key !== keyType) throw INVALID_TOKEN()
  return key as string | number
}

function listEntry(s: Secret): Json {
  return {
    ARN: s.arn, Name: s.name, Description: s.description, KmsKeyId: s.kmsKeyId, Tags: tagList(s),
    SecretVersionsToStages: stageMap(s), CreatedDate: s.createdDate, LastChangedDate: s.lastChangedDate,
    DeletedDate: s.deletedDate,
  } // JSON.stringify drops the undefined ones, as the service omits empty fields
}

// --- handlers ---

export function listSecrets(store: CatalogueStore, body: Json): Json {
  const matches = compileFilters(body['Filters'])
  const includeDeleted = optBoolean(body, 'IncludePlannedDeletion') ?? false
  const size = pageSize(body)
  const order = listing(body)
  const index = store.sorted(order.by)
  const token = optString(body, 'NextToken')
  const cursor = token === undefined ? undefined : decodeToken(token, order)
  const step = order.descending ? -1 : 1
  const first = order.descending ? index.items.length - 1 : 0
  let i = cursor === undefined ? first : order.descending ? index.before(cursor) : index.after(cursor)
  // Scan only until one match past the page: that says whether a NextToken is due.
  const page: Secret[] = []
  let more = false
  for (; i >= 0 && i < index.items.length; i += step) {
    const secret = index.items[i] as Secret
    if ((!includeDeleted && secret.deletedDate !== undefined) || !matches(secret)) continue
    if (page.length === size) {
      more = true
      break
    }
    page.push(secret)
  }
  const last = page.at(-1)
  const out: Json = { SecretList: page.map(listEntry) }
  if (more && last) out['NextToken'] = encodeToken(order, index.keyOf(last))
  return out
}

export function tagResource(store: CatalogueStore, body: Json): Json {
  const secret = store.live(reqString(body, 'SecretId'))
  if (body['Tags'] === undefined) throw invalidParameter('You must provide a value for Tags.')
  setTags(secret, readTags(body['Tags']))
  return {}
}

export function untagResource(store: CatalogueStore, body: Json): Json {
  const secret = store.live(reqString(body, 'SecretId'))
  const keys = optStrings(body, 'TagKeys')
  if (keys === undefined) throw invalidParameter('You must provide a value for TagKeys.')
  removeTags(secret, keys)
  return {}
}

export function deleteSecret(store: CatalogueStore, body: Json): Json {
  const id = reqString(body, 'SecretId')
  const days = optInteger(body, 'RecoveryWindowInDays')
  const force = optBoolean(body, 'ForceDeleteWithoutRecovery') ?? false
  if (days !== undefined && force) {
    throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
  }
  if (days !== undefined && (days < RECOVERY_WINDOW_DAYS_MIN || days > RECOVERY_WINDOW_DAYS_MAX)) {
    const range = `${RECOVERY_WINDOW_DAYS_MIN} and ${RECOVERY_WINDOW_DAYS_MAX}`
    throw invalidParameter(`The RecoveryWindowInDays value must be between ${range} days (inclusive).`)
  }
  const secret = store.get(id)
  // A force delete may purge a secret already in its recovery window; a second scheduling may not.
  if (force) {
    store.forget(secret)
    return { ARN: secret.arn, Name: secret.name, DeletionDate: nowSeconds() }
  }
  if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION)
  return { ARN: secret.arn, Name: secret.name, DeletionDate: scheduleDeletion(secret, days) }
}

export function restoreSecret(store: CatalogueStore, body: Json): Json {
  const secret = store.get(reqString(body, 'SecretId'))
  restore(secret)
  return { ARN: secret.arn, Name: secret.name }
}
