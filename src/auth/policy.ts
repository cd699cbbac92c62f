import type { PolicyRuleConfig } from '../config/index.js'
import { claimAt, claimMatches, type ClaimMatcher } from './claims.js'
import { globMatcher, type GlobMatcher } from './glob.js'
import type { Principal } from './principal.js'

/** The credential's label `label` must match a glob, or equal the caller's claim at `claim`. */
type LabelCondition = { label: string; matches: GlobMatcher } | { label: string; claim: string[] }

/** A credential's labels by its name: undefined for a name that is not a usable credential. */
export type LabelsOf = (credential: string) => Readonly<Record<string, string>> | undefined

/** The Ads profile a request is for (the one asked for, or the credential's fixed one); undefined: none. */
export type ProfileOf = (credential: string) => string | undefined

export interface CompiledRule {
  index: number
  issuer: string | undefined
  subject: GlobMatcher
  claims: ClaimMatcher[]
  credentials: GlobMatcher
  /** Label conditions on the credential (credentialLabels, labelsFromClaims); empty: the name decides alone. */
  labels: LabelCondition[]
  /** Ads profile globs; undefined: any profile, or none. */
  profiles: GlobMatcher | undefined
  /** Restricted-data path globs; undefined: no Restricted Data Tokens at all. */
  restrictedPaths: GlobMatcher | undefined
  admin: boolean
  rateLimitMax: number | undefined
  aggregateMax: number | undefined
}

/** Where a projected service-account token keeps what the `kubernetes` shorthand matches. */
const kubernetesClaimPaths = {
  namespace: 'kubernetes.io/namespace',
  serviceAccount: 'kubernetes.io/serviceaccount/name',
  pod: 'kubernetes.io/pod/name',
} as const

/** A rule as the config holds it; the label conditions may be left out (none). */
export type PolicyRuleInput = Omit<PolicyRuleConfig, 'credentialLabels' | 'labelsFromClaims'>
  & Partial<Pick<PolicyRuleConfig, 'credentialLabels' | 'labelsFromClaims'>>

export function compilePolicy(rules: readonly PolicyRuleInput[]): CompiledRule[] {
  return rules.map((rule, index) => {
    const claims: Record<string, string> = { ...rule.claims }
    for (const [field, path] of Object.entries(kubernetesClaimPaths)) {
      const glob = rule.kubernetes?.[field as keyof typeof kubernetesClaimPaths]
      if (glob !== undefined) claims[path] = glob
    }
    const labels: LabelCondition[] = [
      ...Object.entries(rule.credentialLabels ?? {}).map(([label, glob]) => ({ label, matches: globMatcher([glob]) })),
      ...Object.entries(rule.labelsFromClaims ?? {}).map(([label, path]) => ({ label, claim: path.split('/') })),
    ]
    return {
      index,
      issuer: rule.issuer,
      subject: globMatcher([rule.subject]),
      claims: Object.entries(claims).map(([path, glob]) => ({ path: path.split('/'), matches: globMatcher([glob]) })),
      credentials: rule.credentials.length === 0 && labels.length > 0 ? () => true : globMatcher(rule.credentials),
      labels,
      profiles: rule.profiles && globMatcher(rule.profiles),
      restrictedPaths: rule.restrictedData === true ? () => true
        : rule.restrictedData && globMatcher(rule.restrictedData.paths),
      admin: rule.admin,
      rateLimitMax: rule.rateLimit?.max,
      aggregateMax: rule.rateLimit?.aggregateMax,
    }
  })
}

/** The top-level claims some rule reads (claims, the kubernetes shorthand, labelsFromClaims): what a caller keeps. */
export function claimsReadBy(policy: readonly CompiledRule[]): ReadonlySet<string> {
  return new Set(policy.flatMap((rule) => [
    ...rule.claims.map((c) => c.path[0] as string),
    ...rule.labels.flatMap((l) => ('claim' in l ? [l.claim[0] as string] : [])),
  ]))
}

export type PolicyDecision = { allowed: true; rule: number } | { allowed: false }

/**
 * May this caller have this credential? Pure: default deny; the first rule that applies to
 * the caller (issuer, subject, claims) and whose credential globs, label conditions and
 * profile globs match allows it. A name that is no usable credential has no labels, so a
 * label rule never allows it: a caller learns a name exists only where a rule would let it
 * use that name. A rule with profile globs allows only requests for a profile they match.
 * `restrictedPaths`: a Restricted Data Token for these SP-API paths, which only a rule that
 * allows restricted data, for every one of them, allows.
 */
export function mayGetCredential(
  policy: readonly CompiledRule[],
  principal: Principal,
  credential: string,
  labelsOf: LabelsOf = () => undefined,
  profileOf: ProfileOf = () => undefined,
  restrictedPaths?: readonly string[],
): PolicyDecision {
  const rule = rulesFor(policy, principal).find((r) => r.credentials(credential)
    && (r.labels.length === 0 || labelsMatch(r.labels, principal, labelsOf(credential)))
    && (r.profiles === undefined || profileMatches(r.profiles, profileOf(credential)))
    && (restrictedPaths === undefined || restrictedAllowed(r.restrictedPaths, restrictedPaths)))
  return rule ? { allowed: true, rule: rule.index } : { allowed: false }
}

const restrictedAllowed = (globs: GlobMatcher | undefined, paths: readonly string[]): boolean =>
  globs !== undefined && paths.every(globs)

const profileMatches = (globs: GlobMatcher, profile: string | undefined): boolean =>
  profile !== undefined && globs(profile)

function labelsMatch(
  conditions: readonly LabelCondition[],
  principal: Principal,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!labels) return false
  return conditions.every((c) => {
    const value = Object.hasOwn(labels, c.label) ? labels[c.label] : undefined
    if (value === undefined) return false
    if ('matches' in c) return c.matches(value)
    const claim = claimAt(principal.claims, c.claim)
    return ['string', 'number', 'boolean'].includes(typeof claim) && String(claim) === value
  })
}

/** Is this caller an admin (some rule that applies to it says `admin: true`)? */
export function isAdmin(policy: readonly CompiledRule[], principal: Principal): boolean {
  return rulesFor(policy, principal).some((r) => r.admin)
}

/** The rate limit of the first rule that applies to the caller and sets one. */
export function rateLimitOf(policy: readonly CompiledRule[], principal: Principal): number | undefined {
  return applicableTo(policy, principal).rateLimitMax
}

/** The budget all callers of one rule share, from the first rule that applies to the caller and sets one. */
export function aggregateLimitOf(
  policy: readonly CompiledRule[],
  principal: Principal,
): { rule: number; max: number } | undefined {
  for (const r of rulesFor(policy, principal)) {
    if (r.aggregateMax !== undefined) return { rule: r.index, max: r.aggregateMax }
  }
  return undefined
}

/**
 * The rules that apply to a caller, in order, worked out once per principal: a principal comes
 * from the verified-token cache and is reused by every request with that JWT, and matching
 * subject and claim globs against every rule is what a decision costs at a hundred rules. Callers
 * the same rules apply to share one record (a team's callers, say): at 10,000 callers it is in the
 * CPU's cache when a request reads it, where a record per caller was a cache miss or two.
 */
const applicable = Symbol('applicable rules')
type Applicable = {
  policy: readonly CompiledRule[]
  rules: readonly CompiledRule[]
  /** The first of `rules` that sets a caller's rate limit, read on every request. */
  rateLimitMax: number | undefined
}
const sharedApplicable = new WeakMap<readonly CompiledRule[], Map<string, Applicable>>()

function applicableTo(policy: readonly CompiledRule[], principal: Principal): Applicable {
  const known = principal.memo[applicable] as Applicable | undefined
  if (known?.policy === policy) return known
  const rules = policy.filter((r) => appliesTo(r, principal))
  let shared = sharedApplicable.get(policy)
  if (!shared) sharedApplicable.set(policy, (shared = new Map()))
  const key = rules.map((r) => r.index).join(',')
  let record = shared.get(key)
  if (!record) {
    record = { policy, rules, rateLimitMax: rules.find((r) => r.rateLimitMax !== undefined)?.rateLimitMax }
    shared.set(key, record)
  }
  principal.memo[applicable] = record
  return record
}

const rulesFor = (policy: readonly CompiledRule[], principal: Principal): readonly CompiledRule[] =>
  applicableTo(policy, principal).rules

function appliesTo(rule: CompiledRule, principal: Principal): boolean {
  return (rule.issuer === undefined || rule.issuer === principal.issuer)
    && rule.subject(principal.subject)
    && rule.claims.every((c) => claimMatches(principal.claims, c))
}
