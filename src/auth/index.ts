export { Authenticator, type AuthenticatorOptions } from './authenticator.js'
export { unauthenticated } from './refusals.js'
export {
  claimsReadBy,
  compilePolicy,
  mayGetCredential,
  isAdmin,
  rateLimitOf,
  aggregateLimitOf,
  type CompiledRule,
  type LabelsOf,
  type ProfileOf,
  type PolicyDecision,
} from './policy.js'
export { compileGlob, globMatcher } from './glob.js'
export { KeysUnavailableError } from './key-fetch.js'
export type { Principal } from './principal.js'
