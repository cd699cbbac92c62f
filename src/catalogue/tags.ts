import { Ajv } from 'ajv'
import { checkCredential } from '../config/check.js'
import { toCredential, type CredentialConfig } from '../config/credentials.js'
import { credentialNamePattern, type RawCredential } from '../config/schema.js'
import { Credential, labelKeyPattern } from '../config/schema/credentials.js'

/**
 * The tag scheme of a self-describing credential: a secret tagged `lwa-broker:credential`
 * is a broker credential of that name, and its other `lwa-broker:` tags are the same fields a
 * credential has in the config file, checked by the same schema and the same cross-field rules.
 * The tagged secret holds the grant (refresh_token), or for client_credentials the app's
 * client_id and client_secret; `lwa-broker:app` names a separate app secret.
 */
export const tagPrefix = 'lwa-broker:'
export const nameTag = `${tagPrefix}credential`
export const labelTagPrefix = `${tagPrefix}label:`

/** Tag (after the prefix) -> the config field it sets. */
const fieldTags = {
  api: 'api',
  region: 'region',
  grant: 'grant',
  scope: 'scope',
  app: 'app',
  'profile-id': 'profileId',
  'selling-partner-id': 'sellingPartnerId',
  'application-id': 'onboarding.applicationId',
  draft: 'onboarding.draft',
  vendor: 'onboarding.vendor',
} as const

type FieldTag = keyof typeof fieldTags

/** A secret as ListSecrets describes it: no value, only its identity and tags. */
export interface ListedSecret {
  arn: string
  name: string
  tags: Readonly<Record<string, string>>
}

export interface TagProblem {
  tag: string
  message: string
}

/** What status can show of a refused credential: its api and region, where those tags are valid. */
type PartialCredential = Partial<Pick<CredentialConfig, 'api' | 'region'>>

export type TaggedCredential =
  | { ok: true; name: string; credential: CredentialConfig }
  | { ok: false; name: string | undefined; problem: TagProblem; partial: PartialCredential }

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
const validate = ajv.compile<RawCredential>(Credential)
const namePattern = new RegExp(credentialNamePattern)
const labelKey = new RegExp(labelKeyPattern)

/** Reads a listed secret's tags as a credential, or says which tag is wrong and why (the first problem). */
export function credentialFromTags(secret: ListedSecret): TaggedCredential {
  const name = secret.tags[nameTag]
  if (name === undefined || !namePattern.test(name)) {
    return refused(undefined, nameTag, 'must be a credential name (letters, digits, ".", "_", "-"; up to 128)', {})
  }
  const { raw, problem } = rawCredentialOf(secret)
  const partial = partialOf(raw)
  if (problem) return refused(name, problem.tag, problem.message, partial)
  const checked = checkSchema(raw)
  if (!checked.ok) return refused(name, tagOfField(checked.field), checked.message, partial)
  const problems: TagProblem[] = []
  checkCredential(checked.credential, '', (ok, field, message) => {
    if (!ok) problems.push({ tag: tagOfField(field.replace(/^\./, '')), message })
  })
  const first = problems[0]
  return first
    ? refused(name, first.tag, first.message, partial)
    : { ok: true, name, credential: toCredential(checked.credential) }
}

/**
 * `raw` checked against the config's credential schema (its defaults filled in, in place), or the first problem,
 * naming the field: bulk import checks an entry with it before writing tags, credentialFromTags when reading them.
 */
export function checkSchema(
  raw: Record<string, unknown>,
): { ok: true; credential: RawCredential } | { ok: false; field: string; message: string } {
  if (validate(raw)) return { ok: true, credential: raw }
  const error = validate.errors?.[0]
  const { missingProperty, additionalProperty } = (error?.params ?? {}) as Record<string, unknown>
  const path = (error?.instancePath ?? '').split('/').slice(1)
  const field = [...path, missingProperty ?? additionalProperty].filter((part) => part !== undefined).join('.')
  return { ok: false, field, message: error?.message ?? 'is invalid' }
}

/** The config field a tag sets (the inverse of tagsOf): a tag credentialFromTags refused, named as the field. */
export function fieldOfTag(tag: string): string {
  if (tag === nameTag) return 'name'
  if (tag.startsWith(labelTagPrefix)) return `labels.${tag.slice(labelTagPrefix.length)}`
  return (fieldTags[tag.slice(tagPrefix.length) as FieldTag] as string | undefined) ?? tag
}

function rawCredentialOf(secret: ListedSecret): { raw: Record<string, unknown>; problem?: TagProblem } {
  const raw: Record<string, unknown> = { secret: secret.arn, labels: {} }
  const labels: Record<string, string> = {}
  for (const [key, value] of Object.entries(secret.tags)) {
    if (!key.startsWith(tagPrefix) || key === nameTag) continue
    if (key.startsWith(labelTagPrefix)) {
      const label = key.slice(labelTagPrefix.length)
      if (!labelKey.test(label)) return { raw, problem: { tag: key, message: 'is not a valid label name' } }
      labels[label] = value
      continue
    }
    const field = fieldTags[key.slice(tagPrefix.length) as FieldTag] as string | undefined
    if (!field) return { raw, problem: { tag: key, message: 'is not a known lwa-broker tag' } }
    setField(raw, field, field === 'onboarding.draft' || field === 'onboarding.vendor' ? booleanOf(value) : value)
  }
  raw.labels = labels
  return { raw }
}

function setField(raw: Record<string, unknown>, field: string, value: unknown): void {
  const [head, child] = field.split('.') as [string, string | undefined]
  if (child === undefined) {
    raw[head] = value
    return
  }
  raw[head] = { ...(raw[head] as object | undefined), [child]: value }
}

/** "true"/"false" become booleans; anything else stays a string, which the schema then refuses. */
const booleanOf = (value: string): unknown => (value === 'true' ? true : value === 'false' ? false : value)

function tagOfField(field: string): string {
  const [head, child] = field.split('.')
  if (head === 'labels') return child ? `${labelTagPrefix}${child}` : `${labelTagPrefix}*`
  if (head === 'secret') return nameTag
  const entry = Object.entries(fieldTags)
    .find(([, f]) => f === field || (child === undefined && f.startsWith(`${head}.`)))
  return entry ? `${tagPrefix}${entry[0]}` : `${tagPrefix}${head}`
}

function partialOf(raw: Record<string, unknown>): PartialCredential {
  const partial: Record<string, unknown> = {}
  if (['ads', 'sp-api', 'appstore'].includes(raw.api as string)) partial.api = raw.api
  if (['na', 'eu', 'fe'].includes(raw.region as string)) partial.region = raw.region
  return partial
}

function refused(
  name: string | undefined,
  tag: string,
  message: string,
  partial: PartialCredential,
): TaggedCredential {
  return { ok: false, name, problem: { tag, message }, partial }
}

/** A credential's config fields without its secret: what the tags of its secret say. */
export type TaggedFields = Omit<RawCredential, 'secret' | 'grant' | 'labels'>
  & Partial<Pick<RawCredential, 'grant' | 'labels'>>

/** The tags that declare a credential named `name` (bulk import writes them; credentialFromTags reads them). */
export function tagsOf(name: string, fields: TaggedFields): Record<string, string> {
  const tags: Record<string, string> = { [nameTag]: name }
  for (const [tag, field] of Object.entries(fieldTags)) {
    const [head, child] = field.split('.') as [keyof TaggedFields, string | undefined]
    const value: unknown = child === undefined
      ? fields[head]
      : (fields[head] as Record<string, unknown> | undefined)?.[child]
    if (value !== undefined) tags[`${tagPrefix}${tag}`] = String(value)
  }
  for (const [key, value] of Object.entries(fields.labels ?? {})) tags[`${labelTagPrefix}${key}`] = value
  return tags
}
