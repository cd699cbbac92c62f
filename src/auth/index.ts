export { Authenticator, unauthenticated } from './authenticator.js'
export { compilePolicy, mayGetCredential, isAdmin, type CompiledRule, type PolicyDecision } from './policy.js'
export { compileGlob, globMatcher } from './glob.js'
export type { Principal } from './principal.js'
