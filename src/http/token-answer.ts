import type { IssuedToken } from '../tokens/index.js'
import type { TokenResponse } from './contract/token.js'

/**
 * Where the token and `expires_in` go in an answer's JSON: a private-use character that JSON
 * leaves as it is and that no credential name, header or LWA token holds.
 */
const tokenMark = '\uE000token\uE000'
const ttlMark = '\uE000ttl\uE000'
const marks = /(\uE000token\uE000|\uE000ttl\uE000)/

/** An answer's JSON text around its slots; a slot is the token's JSON text or, undefined, `expires_in`. */
interface Template {
  parts: string[]
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
 * Pieces by their text, for the first templates made: every token's answer begins with the same
 * `{"access_token":"` and `","token_type":"bearer","expires_in":`, kept once instead of once per
 * token (≈0.9 MB at 10,000 credentials). Those come first, so a few entries hold them; the cap
 * keeps the pieces only one token has (its expiry, its name) from filling it for ever.
 */
const sharedPieces = new Map<string, string>()
const maxSharedPieces = 64

/** A piece of its own: one cut by split() is a slice that keeps the whole JSON text alive (≈0.4 KB per token). */
function pieceOf(piece: string): string {
  const known = sharedPieces.get(piece)
  if (known !== undefined) return known
  const copy = JSON.parse(JSON.stringify(piece)) as string
  if (sharedPieces.size < maxSharedPieces) sharedPieces.set(copy, copy)
  return copy
}

function templateOf(token: IssuedToken, headers: Readonly<Record<string, string>>): Template {
  const withMark = (value: string): string => value.split(token.accessToken).join(tokenMark)
  const body: Omit<TokenResponse, 'expires_in'> & { expires_in: string } = {
    access_token: tokenMark,
    token_type: token.tokenType,
    expires_in: ttlMark,
    expires_at: token.expiresAt,
    credential: token.credential,
    api: token.config.api,
    region: token.config.region,
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, withMark(value)])),
  }
  const pieces = JSON.stringify(body).replace(`"${ttlMark}"`, ttlMark).split(marks)
  const escaped = JSON.stringify(token.accessToken).slice(1, -1)
  // A token that needs no escaping (LWA's never do) is used as it is: no second copy of it.
  const tokenText = escaped === token.accessToken ? token.accessToken : escaped
  return {
    parts: pieces.filter((_, i) => i % 2 === 0).map(pieceOf),
    slots: pieces.filter((_, i) => i % 2 === 1).map((mark) => (mark === tokenMark ? tokenText : undefined)),
  }
}
