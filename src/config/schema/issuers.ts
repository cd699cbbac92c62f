import { Type } from 'typebox'
import { closed, hmacAlgorithms, jwsAlgorithms, NonEmpty, Url } from './common.js'

const RemoteFetch = {
  /** Give up on a JWKS or discovery fetch after this long. */
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** After a fetch, an unknown `kid` triggers another one only after this long. */
  cooldownMs: Type.Integer({ minimum: 0, maximum: 3600000, default: 30000 }),
  /** Refetch keys at least this often, even without an unknown `kid`. */
  cacheMaxAgeMs: Type.Integer({ minimum: 1000, maximum: 86400000, default: 600000 }),
}

/** Where an issuer's keys come from: exactly one source (checked in check.ts). */
const Jwks = Type.Object({
  /** An inline JWKS. */
  keys: Type.Optional(Type.Array(Type.Object({ kty: NonEmpty }), { minItems: 1 })),
  /** A JWKS file (e.g. a mounted ConfigMap); re-read when it changes. */
  file: Type.Optional(NonEmpty),
  /** A JWKS URL. */
  uri: Type.Optional(Url),
  /** OIDC discovery: `{issuer}/.well-known/openid-configuration` names the `jwks_uri`. */
  discovery: Type.Optional(Type.Boolean()),
  /** The Kubernetes API server's `/openid/v1/jwks`. */
  kubernetes: Type.Optional(Type.Object({
    apiServer: Url,
    /** CA bundle the API server's certificate chains to (the pod's service-account CA). */
    caFile: Type.Optional(NonEmpty),
    /** Bearer token file, re-read on every fetch (the kubelet rotates it). */
    tokenFile: Type.Optional(NonEmpty),
  }, closed)),
  ...RemoteFetch,
}, { ...closed, default: {} })

export const Issuer = Type.Object({
  issuer: NonEmpty,
  audiences: Type.Array(NonEmpty, { minItems: 1 }),
  algorithms: Type.Array(Type.Enum([...jwsAlgorithms, ...hmacAlgorithms]), { minItems: 1 }),
  jwks: Jwks,
  /** HS* only: a file holding the shared secret (at least 32 bytes); never the secret itself in config. */
  sharedSecretFile: Type.Optional(NonEmpty),
  clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  /** Reject tokens whose `iat` is older than this, whatever their `exp` says. */
  maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Claims a token must carry besides iss, aud, exp and sub (e.g. jti, iat). */
  requiredClaims: Type.Array(NonEmpty, { default: [] }),
  /** The JWS `typ` header the issuer sets, if it sets one (e.g. `JWT`, `at+jwt`). */
  typ: Type.Optional(NonEmpty),
  /**
   * Tokens must carry a `jti`, and each is accepted once: for issuers that mint a token per
   * request. Not for Kubernetes projected tokens, which callers reuse until they rotate.
   */
  requireJti: Type.Boolean({ default: false }),
}, closed)

export const Auth = Type.Object({
  /** Verified JWTs are remembered (by hash) so repeated calls skip the signature check. */
  verifiedTokenCache: Type.Object({
    maxEntries: Type.Integer({ minimum: 0, maximum: 1000000, default: 10000 }),
    /** An entry lives at most this long (and never past the token's own expiry). */
    maxAgeSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  }, { ...closed, default: {} }),
  /** `jti`s seen from issuers with requireJti, kept until their token expires; when full, new tokens are refused. */
  replayCache: Type.Object({
    maxEntries: Type.Integer({ minimum: 1, maximum: 10000000, default: 100000 }),
  }, { ...closed, default: {} }),
}, { ...closed, default: {} })
