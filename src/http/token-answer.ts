import { jsonText } from '../strings.js'
import type { IssuedToken } from '../tokens/index.js'
import type { TokenResponse } from './contract/token.js'

/**
 * Where a string value and `expires_in` go in an answer's JSON while its template is cut: a
 * private-use character that JSON leaves as it is and that no credential name, header or LWA
 * token holds, around the value's index (or `ttl`).
 */
const slotMark = (index: number | 'ttl'): string => `\uE000${index}\uE000`
const marks = /\uE000(\d+|ttl)\uE000/

/**
 * An answer's JSON text around its slots. A slot is one of the token's string values as JSON
 * text or, undefined, `expires_in`; the parts between them are the keys and punctuation, the
 * same for every token of one API, so tokens share them.
 */
interface Template {
  parts: readonly string[]
  slots: Array<string | undefined>
}

/**
 * In each token's memo: its answer's template, and one per Ads profile asked for (a profile id
 * is short, and a credential's profiles are few).
 */
const template = Symbol('answer template')
const profileTemplates = Symbol('answer templates by profile')
/** Templates kept per token beyond the default one: an agency's profiles, not an unbounded set. */
const maxProfileTemplatesPerToken = 512

const scopeHeader = 'Amazon-Advertising-API-Scope'

/**
 * GET /token's JSON body. A token's answers differ only in `expires_in`, so its JSON is made
 * once per token (and Ads profile) and filled in per request; the template holds no copy of
 * the token, so 10,000 cached credentials do not hold 10,000 more. `profile`: a profile the
 * exchange checked, sent as `Amazon-Advertising-API-Scope` instead of the fixed one.
 */
export function tokenAnswer(token: IssuedToken, expiresIn: number, profile?: string): string {
  const { parts, slots } = profile === undefined ? defaultTemplateOf(token) : profileTemplateOf(token, profile)
  let text = parts[0] as string
  for (let i = 0; i < slots.length; i++) text += (slots[i] ?? expiresIn) + (parts[i + 1] as string)
  return text
}

function defaultTemplateOf(token: IssuedToken): Template {
  let known = token.memo[template] as Template | undefined
  if (!known) token.memo[template] = known = templateOf(token, token.headers)
  return known
}

function profileTemplateOf(token: IssuedToken, profile: string): Template {
  let byProfile = token.memo[profileTemplates] as Map<string, Template> | undefined
  if (!byProfile) token.memo[profileTemplates] = byProfile = new Map()
  let known = byProfile.get(profile)
  if (!known) {
    // The oldest goes first: a token lives an hour, so this only bounds a burst of distinct profiles.
    if (byProfile.size >= maxProfileTemplatesPerToken) byProfile.delete(byProfile.keys().next().value as string)
    byProfile.set(profile, (known = templateOf(token, { ...token.headers, [scopeHeader]: profile })))
  }
  return known
}

/**
 * Parts by their text: every token of an API (and set of header names) has the same, kept once
 * instead of once per token. The cap only matters if header names were ever made per token.
 */
const sharedParts = new Map<string, readonly string[]>()
const maxSharedParts = 64

/** Parts of their own: pieces cut by split() are slices that keep the whole JSON text alive. */
function partsOf(pieces: string[]): readonly string[] {
  const key = pieces.join(slotMark('ttl'))
  const known = sharedParts.get(key)
  if (known) return known
  const copies = pieces.map((piece) => JSON.parse(JSON.stringify(piece)) as string)
  if (sharedParts.size < maxSharedParts) sharedParts.set(key, copies)
  return copies
}

function templateOf(token: IssuedToken, headers: Readonly<Record<string, string>>): Template {
  const values: string[] = []
  const slot = (value: string): string => slotMark(values.push(value) - 1)
  // Every field of the answer, each value its slot's mark.
  const body: { [K in keyof TokenResponse]: TokenResponse[K] extends object ? Record<string, string> : string } = {
    access_token: slot(token.accessToken),
    token_type: slot(token.tokenType),
    expires_in: slotMark('ttl'),
    expires_at: slot(token.expiresAt),
    credential: slot(token.credential),
    api: slot(token.config.api),
    region: slot(token.config.region),
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, slot(value)])),
  }
  const pieces = JSON.stringify(body).replace(`"${slotMark('ttl')}"`, slotMark('ttl')).split(marks)
  return {
    parts: partsOf(pieces.filter((_, i) => i % 2 === 0)),
    slots: pieces.filter((_, i) => i % 2 === 1)
      .map((mark) => (mark === 'ttl' ? undefined : jsonText(values[Number(mark)] as string))),
  }
}
