import type { JWTPayload } from 'jose'
import type { GlobMatcher } from './glob.js'

/** A rule's condition on a claim: its path (nested with `/` in the config) and the glob its value must match. */
export interface ClaimMatcher {
  path: string[]
  matches: GlobMatcher
}

/** A string, number or boolean claim must match the glob; for an array claim, any element. */
export function claimMatches(claims: Readonly<Record<string, unknown>>, matcher: ClaimMatcher): boolean {
  const value = claimAt(claims, matcher.path)
  const candidates = Array.isArray(value) ? value : [value]
  return candidates.some((v) => ['string', 'number', 'boolean'].includes(typeof v) && matcher.matches(String(v)))
}

export function claimAt(claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = claims
  for (const key of path) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
      ? (value as Record<string, unknown>)[key]
      : undefined
  }
  return value
}

/** Shared by every caller that keeps no claim (the usual case: rules that match subjects only). */
const noClaims: JWTPayload = Object.freeze({})

/** The claims named, as own properties (`__proto__` too, as JSON.parse made it): what a verified caller keeps. */
export function keptClaims(payload: JWTPayload, names: ReadonlySet<string>): JWTPayload {
  const entries = [...names].filter((name) => Object.hasOwn(payload, name)).map((name) => [name, payload[name]])
  return entries.length === 0 ? noClaims : Object.fromEntries(entries) as JWTPayload
}
