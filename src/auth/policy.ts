import type { PolicyRuleConfig } from '../config/index.js'
import { globMatcher, type GlobMatcher } from './glob.js'
import type { Principal } from './principal.js'

export interface CompiledRule {
  index: number
  issuer: string | undefined
  subject: GlobMatcher
  credentials: GlobMatcher
  admin: boolean
}

export function compilePolicy(rules: readonly PolicyRuleConfig[]): CompiledRule[] {
  return rules.map((rule, index) => ({
    index,
    issuer: rule.issuer,
    subject: globMatcher([rule.subject]),
    credentials: globMatcher(rule.credentials),
    admin: rule.admin,
  }))
}

export type PolicyDecision = { allowed: true; rule: number } | { allowed: false }

/**
 * May this caller have this credential? Pure: default deny; the first rule whose issuer
 * (if it names one) and subject match and whose credential globs match allows it.
 */
export function mayGetCredential(policy: readonly CompiledRule[], principal: Principal, credential: string): PolicyDecision {
  const rule = policy.find((r) => appliesTo(r, principal) && r.credentials(credential))
  return rule ? { allowed: true, rule: rule.index } : { allowed: false }
}

/** Is this caller an admin (some matching rule says `admin: true`)? */
export function isAdmin(policy: readonly CompiledRule[], principal: Principal): boolean {
  return policy.some((r) => r.admin && appliesTo(r, principal))
}

function appliesTo(rule: CompiledRule, principal: Principal): boolean {
  return (rule.issuer === undefined || rule.issuer === principal.issuer) && rule.subject(principal.subject)
}
