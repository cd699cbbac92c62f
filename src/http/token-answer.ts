import { flatCopy, jsonText } from '../strings.js'
import type { IssuedToken } from '../tokens/index.js'
import type { TokenResponse } from './contract/token.js'

/**
 * Where a string value and `expires_in` go in an answer's JSON while its template is cut: a
 * private-use character that JSON leaves as it is and that no credential name, header or LWA
 * token holds, around the value's index (or `ttl`).
 */
const slotMark = (index: number | 'ttl'): string => `\uE000${index}\uE000`
const marks = /\uE000(\d+|ttl)\uE000/

/** A slot's JSON text, read from the token (and the profile asked for) per answer. */
type Read = (token: IssuedToken, profile: string | undefined) => string

/**
 * An answer's JSON text around its slots: the parts are the keys and punctuation, a slot reads
 * one of the token's strings or, undefined, is `expires_in`. Tokens of one API (and set of
 * header names) share one template, so a cached token keeps only a pointer to it.
 */
interface Template {
  parts: readonly string[]
  reads: ReadonlyArray<Read | undefined>
}

/** In each token's memo: the template of its answer, and of its answers for an Ads profile asked for. */
const template = Symbol('answer template')
const profileTemplate = Symbol('answer template with a profile')

const scopeHeader = 'Amazon-Advertising-API-Scope'

/**
 * GET /token's JSON body, filled in per request from a template made once per token: no
 * serialiser runs, and the template holds no copy of the token. `profile`: a profile the
 * exchange checked, sent as `Amazon-Advertising-API-Scope` instead of the fixed one.
 */
export function tokenAnswer(token: IssuedToken, expiresIn: number, profile?: string): string {
  const slot = profile === undefined ? template : profileTemplate
  let known = token.memo[slot] as Template | undefined
  if (!known) token.memo[slot] = known = templateOf(token, profile !== undefined)
  const { parts, reads } = known
  let text = parts[0] as string
  for (let i = 0; i < reads.length; i++) {
    const read = reads[i]
    text += (read === undefined ? expiresIn : read(token, profile)) + (parts[i + 1] as string)
  }
  return text
}

/**
 * Templates by their parts' text. Every token of an API shares one; the cap only matters if
 * header names were ever made per token.
 */
const sharedTemplates = new Map<string, Template>()
const maxSharedTemplates = 64

/** The token's template: the shared one of its shape when none of its strings needs escaping. */
function templateOf(token: IssuedToken, withProfile: boolean): Template {
  const reads: Array<Read | undefined> = []
  const slot = (read: Read): string => slotMark(reads.push(read) - 1)
  const headers = withProfile ? { ...token.headers, [scopeHeader]: '' } : token.headers
  // Every field of the answer, each value its slot's mark.
  const body: { [K in keyof TokenResponse]: TokenResponse[K] extends object ? Record<string, string> : string } = {
    access_token: slot((t) => t.accessToken),
    token_type: slot((t) => t.tokenType),
    expires_in: slotMark('ttl'),
    expires_at: slot((t) => t.expiresAt),
    credential: slot((t) => t.credential),
    api: slot((t) => t.config.api),
    region: slot((t) => t.config.region),
    headers: Object.fromEntries(Object.keys(headers).map((name) => [name, slot(headerRead(name, withProfile))])),
  }
  const pieces = JSON.stringify(body).replace(`"${slotMark('ttl')}"`, slotMark('ttl')).split(marks)
  const parts = pieces.filter((_, i) => i % 2 === 0)
  const slotReads = pieces.filter((_, i) => i % 2 === 1)
    .map((mark) => (mark === 'ttl' ? undefined : reads[Number(mark)]))
  const values = slotReads.map((read) => (read && read !== profileRead ? read(token, undefined) : undefined))
  if (values.some((value) => value !== undefined && jsonText(value) !== value)) {
    // A string JSON must escape (LWA's never do): a template of this token's own, holding it escaped.
    const own = slotReads.map((read, i) => (values[i] === undefined ? read : constant(jsonText(values[i] as string))))
    return { parts: parts.map(flatCopy), reads: own }
  }
  const key = parts.join(slotMark('ttl')) + (withProfile ? slotMark(0) : '')
  let shared = sharedTemplates.get(key)
  if (!shared) {
    // Copies: a part cut by split() is a slice that keeps the whole JSON text alive.
    shared = { parts: parts.map(flatCopy), reads: slotReads }
    if (sharedTemplates.size < maxSharedTemplates) sharedTemplates.set(key, shared)
  }
  return shared
}

/** The profile asked for: the one slot read per request that is not the token's own. */
const profileRead: Read = (_token, profile) => jsonText(profile as string)

function headerRead(name: string, withProfile: boolean): Read {
  return withProfile && name === scopeHeader ? profileRead : (t) => t.headers[name] as string
}

const constant = (text: string): Read => () => text
