import { Type } from 'typebox'
import { closed, NonEmpty } from './common.js'

const RateLimit = Type.Object({
  /** Requests per caller per window. */
  max: Type.Integer({ minimum: 1 }),
  /**
   * Requests per window of all this rule's callers together: a rule whose subject is a glob
   * lets its callers mint new subjects, and each would otherwise get a budget of its own.
   */
  aggregateMax: Type.Optional(Type.Integer({ minimum: 1 })),
}, closed)

export const PolicyRule = Type.Object({
  issuer: Type.Optional(NonEmpty),
  subject: NonEmpty,
  /** Claim path (nested with `/`, e.g. `kubernetes.io/namespace`) -> glob the claim must match. */
  claims: Type.Record(NonEmpty, Type.String(), { default: {} }),
  /** Shorthand for the `kubernetes.io` claims of a projected service-account token (globs). */
  kubernetes: Type.Optional(Type.Object({
    namespace: Type.Optional(NonEmpty),
    serviceAccount: Type.Optional(NonEmpty),
    pod: Type.Optional(NonEmpty),
  }, closed)),
  /** Credential name globs; empty with `credentialLabels` or `labelsFromClaims`: any name those select. */
  credentials: Type.Array(NonEmpty, { default: [] }),
  /** Label -> glob every selected credential's label must match (e.g. `team: ads`). */
  credentialLabels: Type.Record(NonEmpty, NonEmpty, { default: {} }),
  /**
   * Label -> caller claim path: the credential's label must equal the caller's claim, e.g.
   * `tenant: kubernetes.io/namespace` lets each namespace use only its own tenant's sellers.
   */
  labelsFromClaims: Type.Record(NonEmpty, NonEmpty, { default: {} }),
  /**
   * Ads profile id globs the rule's callers may be given a token for (the `profile` they ask
   * for, else the credential's fixed `profileId`); absent: any, and requests for no profile.
   */
  profiles: Type.Optional(Type.Array(NonEmpty, { minItems: 1 })),
  /**
   * Restricted Data Tokens (buyers' personal data) for the rule's SP-API credentials: never
   * without this. `true`: any restricted path; `paths`: only SP-API paths these globs match
   * (e.g. `/orders/v0/orders*` for every order and its address).
   */
  restrictedData: Type.Optional(Type.Union([
    Type.Literal(true),
    Type.Object({ paths: Type.Array(NonEmpty, { minItems: 1 }) }, closed),
  ])),
  admin: Type.Boolean({ default: false }),
  /** This rule's callers get this limit instead of the global one. */
  rateLimit: Type.Optional(RateLimit),
}, closed)

export const RateLimits = Type.Object({
  /** Requests per authenticated caller (issuer + subject) per window. */
  max: Type.Integer({ minimum: 1, default: 600 }),
  timeWindowSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  /** Requests per client address per window for callers that fail to authenticate. */
  unauthenticatedMax: Type.Integer({ minimum: 1, default: 60 }),
  /**
   * Signature checks per client address per window (JWTs not already verified): checked
   * before the signature, so a flood of fresh tokens cannot make the broker burn CPU.
   */
  verificationsPerAddress: Type.Integer({ minimum: 1, default: 300 }),
  /** Onboarding page requests per client address per window (the pages need no JWT). */
  onboardingMax: Type.Integer({ minimum: 1, default: 30 }),
  /** Callers (and addresses) tracked at once; more active callers than this and the limit leaks. */
  trackedCallers: Type.Integer({ minimum: 1000, maximum: 10000000, default: 100000 }),
}, { ...closed, default: {} })
