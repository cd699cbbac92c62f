import { createHmac, createPublicKey, KeyObject, randomUUID, sign as signBytes, type JsonWebKey } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { CompactSign, EncryptJWT, exportJWK, generateKeyPair, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { audience, build, callerKeys, issuerUrl, type BuildOptions, type CallerKeys, type Harness } from '../helper.js'
import { JwksServer } from '../support/jwks-server.js'

type Test = Parameters<typeof build>[0]

/** A second issuer that sets every optional check: `typ`, required claims, maximum age, RS256 only. */
const strictIssuer = 'https://strict.test.example/id/STRICT'
const strictAudience = 'lwa-broker-strict'
const strictMaxAgeSeconds = 3600
/** A third issuer that signs with a shared secret (HS256 only). */
const hmacIssuer = 'https://hmac.test.example'
const hmacSecret = 'an HS256 shared secret that is well over 32 bytes long'

interface Fixtures {
  /** A key no issuer trusts, and its public half. */
  stranger: CryptoKey
  strangerJwk: JWK
  /** The strict issuer's own keys (kids strict-rsa-1 and strict-ec-1). */
  strict: CallerKeys & { kid: string }
  hmacSecretFile: string
  /** Serves a valid discovery document and JWKS; no issuer in config points at it. */
  bystander: JwksServer
}
let f: Fixtures

const nowSeconds = (h: Harness): number => Math.floor(h.clock.now() / 1000)
const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Claims laid out exactly like a Kubernetes projected service-account token (WIRE.md). */
function projectedClaims(h: Harness, overrides: JWTPayload = {}, omit: string[] = []): JWTPayload {
  const now = nowSeconds(h)
  const claims: JWTPayload = {
    aud: [audience],
    exp: now + 3600, iat: now, nbf: now,
    iss: issuerUrl,
    jti: randomUUID(),
    sub: 'system:serviceaccount:ads:reporter',
    'kubernetes.io': {
      namespace: 'ads',
      node: { name: 'ip-10-0-1-23.ec2.internal', uid: '5b2f0c9e-1d7a-4e1b-9f3c-7a2d8e6b4c10' },
      pod: { name: 'reporter-7d9f8c6b5-x2k4q', uid: 'a1c3e5f7-2b4d-4f6a-8c0e-1a3b5c7d9e2f' },
      serviceaccount: { name: 'reporter', uid: '9e7d0c1a-3f5b-4d7e-9a1c-3e5f7a9b1d2c' },
    },
    ...overrides,
  }
  for (const claim of omit) delete claims[claim]
  return claims
}

/** The strict issuer's well-formed token, to be spoiled one field at a time. */
const strictClaims = (h: Harness, overrides: JWTPayload = {}, omit: string[] = []): JWTPayload =>
  projectedClaims(h, { iss: strictIssuer, aud: [strictAudience], ...overrides }, omit)

/** Signs any header over any payload, as a forger with the right private key would. */
async function forge(header: Record<string, unknown>, claims: JWTPayload | string, key: CryptoKey | Uint8Array, crit?: Record<string, boolean>): Promise<string> {
  const payload = new TextEncoder().encode(typeof claims === 'string' ? claims : JSON.stringify(claims))
  return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key, crit ? { crit } : undefined)
}

/** HS256 computed by hand, so any bytes can be the secret (the algorithm-confusion attack). */
function hs256(header: Record<string, unknown>, claims: JWTPayload, secret: string | Buffer): string {
  const input = `${b64({ alg: 'HS256', ...header })}.${b64(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** RS256 over a payload segment taken as is (jose will not produce the odd ones). */
function rs256(header: Record<string, unknown>, payloadSegment: string, key: CryptoKey): string {
  const input = `${b64({ alg: 'RS256', ...header })}.${payloadSegment}`
  return `${input}.${signBytes('sha256', Buffer.from(input), KeyObject.from(key)).toString('base64url')}`
}

/** The issuer's published RSA key, in the encodings an attacker might feed an HMAC. */
function publishedRsaKey(h: Harness): KeyObject {
  return createPublicKey({ key: h.keys.jwks.keys.find((k) => k.kid === 'rsa-1') as JsonWebKey, format: 'jwk' })
}

/** Flips one character in the middle of a base64url segment. */
function tamper(jwt: string, segment: 0 | 1 | 2): string {
  const parts = jwt.split('.')
  const s = parts[segment] as string
  const i = Math.floor(s.length / 2)
  parts[segment] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  return parts.join('.')
}

/** Replaces one segment of a real token, keeping the others (and so the original signature). */
async function splice(h: Harness, segment: 0 | 1 | 2, value: string): Promise<string> {
  const parts = (await h.jwt()).split('.')
  parts[segment] = value
  return parts.join('.')
}

/** The catalogue's broker: the helper's issuer plus the strict and the HMAC issuer. */
const threeIssuers: BuildOptions['config'] = (base) => {
  const [helperIssuer] = base.issuers as object[]
  const rule = (issuer: string) => ({ issuer, subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'] })
  return {
    ...base,
    issuers: [
      helperIssuer,
      {
        issuer: strictIssuer, audiences: [strictAudience], algorithms: ['RS256'], jwks: f.strict.jwks,
        typ: 'JWT', requiredClaims: ['jti', 'iat'], maxTokenAgeSeconds: strictMaxAgeSeconds,
      },
      { issuer: hmacIssuer, audiences: [audience], algorithms: ['HS256'], sharedSecretFile: f.hmacSecretFile },
    ],
    policy: [rule(issuerUrl), rule(strictIssuer), rule(hmacIssuer)],
  }
}

const hmacKey = (): Uint8Array => new TextEncoder().encode(hmacSecret)
const strictToken = (h: Harness, overrides: JWTPayload = {}, omit: string[] = [], header: Record<string, unknown> = {}): Promise<string> =>
  forge({ alg: 'RS256', kid: f.strict.kid, typ: 'JWT', ...header }, strictClaims(h, overrides, omit), f.strict.rsa)
const hmacToken = (h: Harness, overrides: JWTPayload = {}, header: Record<string, unknown> = {}, key = hmacKey()): Promise<string> =>
  forge({ alg: 'HS256', ...header }, projectedClaims(h, { iss: hmacIssuer, ...overrides }), key)

/** Well-formed tokens of each issuer: each bad token below is one of these spoiled in one way. */
const controls: Array<[string, (h: Harness) => Promise<string>]> = [
  ['RS256 from the helper issuer', (h) => h.jwt()],
  ['ES256 from the helper issuer', (h) => h.jwt({ alg: 'ES256' })],
  ['a projected-token layout, RS256', (h) => forge({ alg: 'RS256', kid: 'rsa-1' }, projectedClaims(h), h.keys.rsa)],
  ['RS256 from the strict issuer, with typ, jti and iat', (h) => strictToken(h)],
  ['HS256 from the HMAC issuer', (h) => hmacToken(h)],
  ['not-before 3 s ahead, inside the 5 s clock tolerance', (h) => h.jwt({ claims: { nbf: nowSeconds(h) + 3 } })],
]

/** Bad tokens, each with the check that must fail (the reason in the log). */
const catalogue: Array<[string, (h: Harness) => Promise<string | undefined>, RegExp]> = [
  // What arrives is not a compact JWS at all.
  ['no Authorization header', async () => undefined, /^missing_token$/],
  ['an empty bearer token', async () => '', /^not_bearer$/],
  ['not a JWT', async () => 'not-a-jwt', /^malformed_token$/],
  ['oversized: a real token padded past 8 KiB', (h) => h.jwt({ claims: { pad: 'x'.repeat(10_000) } }), /^oversized_token$/],
  ['oversized: 9 KiB of anything, refused before parsing', async () => 'a'.repeat(9 * 1024), /^oversized_token$/],
  ['truncated: signature cut short', async (h) => (await h.jwt()).slice(0, -12), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['truncated: signature segment dropped', async (h) => (await h.jwt()).split('.').slice(0, 2).join('.'), /^malformed_token$/],
  ['truncated: header only', async (h) => (await h.jwt()).split('.')[0], /^malformed_token$/],
  ['an extra segment', async (h) => `${await h.jwt()}.${b64('more')}`, /^malformed_token$/],
  ['a JWE (5 segments) instead of a JWS', (h) => new EncryptJWT(projectedClaims(h)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(new Uint8Array(32)), /^malformed_token$/],
  ['non-base64url character in the payload (base64 "+")', async (h) => { const [a, p, s] = (await h.jwt()).split('.'); return `${a}.+${p?.slice(1)}.${s}` }, /^malformed_token$/],
  ['non-base64url character in the signature (base64 "/")', async (h) => `${(await h.jwt()).slice(0, -1)}/`, /^ERR_JWS_INVALID$/],
  ['header without alg', (h) => splice(h, 0, b64({ kid: 'rsa-1' })), /^ERR_JWS_INVALID$/],
  ['header is not JSON', (h) => splice(h, 0, b64('{"alg":"RS256",')), /^ERR_JWS_INVALID$/],
  ['claims are a JSON array, not an object', (h) => splice(h, 1, b64([{ iss: issuerUrl }])), /^malformed_token$/],

  // The algorithm is not one this issuer may use.
  ['alg none', async (h) => new UnsecuredJWT(projectedClaims(h)).encode(), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['alg none with the original signature left on', (h) => splice(h, 0, b64({ alg: 'none', kid: 'rsa-1' })), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['alg "NONE" (case games)', async (h) => `${b64({ alg: 'NONE' })}.${b64(projectedClaims(h))}.`, /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['HS256 keyed with the issuer\'s RSA public key as PEM (algorithm confusion)', async (h) =>
    hs256({ kid: 'rsa-1' }, projectedClaims(h), publishedRsaKey(h).export({ type: 'spki', format: 'pem' }) as string), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['HS256 keyed with the issuer\'s RSA public key as DER (algorithm confusion)', async (h) =>
    hs256({ kid: 'rsa-1' }, projectedClaims(h), publishedRsaKey(h).export({ type: 'spki', format: 'der' })), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['HS256 keyed with the issuer\'s published JWK (algorithm confusion)', async (h) =>
    hs256({ kid: 'rsa-1' }, projectedClaims(h), JSON.stringify(h.keys.jwks.keys[0])), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['HS256 with the HMAC issuer\'s real secret, claiming the RSA issuer', (h) => hmacToken(h, { iss: issuerUrl }), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['ES256 to an issuer that allows only RS256', (h) => forge({ alg: 'ES256', kid: 'strict-ec-1', typ: 'JWT' }, strictClaims(h), f.strict.ec), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['RS256 header naming the EC key', (h) => forge({ alg: 'RS256', kid: 'ec-1' }, projectedClaims(h), h.keys.rsa), /^ERR_JWKS_NO_MATCHING_KEY$/],
  ['ES256 signature in DER instead of JOSE (r||s) form', async (h) => {
    const input = `${b64({ alg: 'ES256', kid: 'ec-1' })}.${b64(projectedClaims(h))}`
    return `${input}.${signBytes('sha256', Buffer.from(input), KeyObject.from(h.keys.ec)).toString('base64url')}`
  }, /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['HMAC issuer: an RS256 token', (h) => forge({ alg: 'RS256', kid: 'rsa-1' }, projectedClaims(h, { iss: hmacIssuer }), h.keys.rsa), /^ERR_JOSE_ALG_NOT_ALLOWED$/],
  ['HMAC issuer: HS256 with the wrong secret', (h) => hmacToken(h, {}, {}, new TextEncoder().encode('a different secret, also 32+ bytes long')), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['HMAC issuer: HS384 with the right secret (only HS256 allowed)', (h) => hmacToken(h, {}, { alg: 'HS384' }), /^ERR_JOSE_ALG_NOT_ALLOWED$/],

  // The key is not the issuer's.
  ['unknown kid', (h) => h.jwt({ kid: 'rsa-unknown' }), /^ERR_JWKS_NO_MATCHING_KEY$/],
  ['kid is a number', (h) => forge({ alg: 'RS256', kid: 1 }, projectedClaims(h), h.keys.rsa), /^ERR_JWKS_NO_MATCHING_KEY$/],
  ['signed by a key the issuer does not have', (h) => h.jwt({ key: f.stranger }), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['kid of another configured issuer', (h) => forge({ alg: 'RS256', kid: f.strict.kid }, projectedClaims(h), f.strict.rsa), /^ERR_JWKS_NO_MATCHING_KEY$/],
  ['claims the strict issuer, signed with the helper issuer\'s key', (h) => forge({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT' }, strictClaims(h), h.keys.rsa), /^ERR_JWKS_NO_MATCHING_KEY$/],
  ['the attacker\'s own key embedded as a `jwk` header', (h) => forge({ alg: 'RS256', kid: 'rsa-1', jwk: f.strangerJwk }, projectedClaims(h), f.stranger), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['a `jku` header pointing at a JWKS the attacker serves', (h) => forge({ alg: 'RS256', kid: 'rsa-1', jku: f.bystander.jwksUri }, projectedClaims(h), f.stranger), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],

  // The token was altered after signing.
  ['tampered header', async (h) => tamper(await h.jwt(), 0), /^ERR_JWS_INVALID$/],
  ['header re-encoded with another kid and alg', (h) => splice(h, 0, b64({ alg: 'ES256', kid: 'ec-1' })), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  // A flipped character either breaks the JSON or changes a value: refused either way.
  ['tampered payload', async (h) => tamper(await h.jwt(), 1), /^(malformed_token|ERR_JWS_SIGNATURE_VERIFICATION_FAILED)$/],
  ['tampered signature', async (h) => tamper(await h.jwt(), 2), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],
  ['payload swapped to another subject', (h) => splice(h, 1, b64(projectedClaims(h, { sub: 'system:serviceaccount:platform:all' }))), /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/],

  // The header asks for processing the broker does not do.
  ['an unknown `crit` extension', (h) => forge({ alg: 'RS256', kid: 'rsa-1', crit: ['urn:example:policy'], 'urn:example:policy': 'x' }, projectedClaims(h), h.keys.rsa, { 'urn:example:policy': true }), /^ERR_JOSE_NOT_SUPPORTED$/],
  ['`crit` naming a parameter the header lacks', async (h) => rs256({ kid: 'rsa-1', crit: ['b64'] }, b64(projectedClaims(h)), h.keys.rsa), /^ERR_JWS_INVALID$/],
  // The unencoded payload is itself base64url text, so the broker finds an `iss` and reaches the signature check.
  ['`b64: false` (RFC 7797 unencoded payload)', async (h) => rs256({ kid: 'rsa-1', b64: false, crit: ['b64'] }, b64(projectedClaims(h)), h.keys.rsa), /^ERR_JWT_INVALID$/],

  // Issuer.
  ['wrong issuer', (h) => h.jwt({ claims: { iss: 'https://evil.example' } }), /^unknown_issuer$/],
  ['an issuer not in config whose keys are a fetch away', (h) => h.jwt({ claims: { iss: f.bystander.url } }), /^unknown_issuer$/],
  ['the issuer with a trailing slash', (h) => h.jwt({ claims: { iss: `${issuerUrl}/` } }), /^unknown_issuer$/],
  ['missing issuer', (h) => h.jwt({ omit: ['iss'] }), /^missing_issuer$/],
  ['issuer is not a string', (h) => h.jwt({ claims: { iss: ['https://oidc.test.example/id/CLUSTER'] as unknown as string } }), /^missing_issuer$/],

  // Audience.
  ['wrong audience', (h) => h.jwt({ claims: { aud: 'someone-else' } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:check_failed$/],
  ['missing audience', (h) => h.jwt({ omit: ['aud'] }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:missing$/],
  ['audience array without ours', (h) => h.jwt({ claims: { aud: ['vault', 'sts.amazonaws.com'] } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:check_failed$/],
  ['empty audience array', (h) => h.jwt({ claims: { aud: [] } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:check_failed$/],
  ['a trusted issuer\'s token for AWS STS', (h) => h.jwt({ claims: { aud: ['sts.amazonaws.com'] } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:check_failed$/],
  ['the audience another configured issuer uses', (h) => h.jwt({ claims: { aud: [strictAudience] } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:aud:check_failed$/],

  // Time.
  ['missing exp', (h) => h.jwt({ omit: ['exp'] }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:exp:missing$/],
  ['exp as a string', (h) => h.jwt({ claims: { exp: String(nowSeconds(h) + 600) as unknown as number } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:exp:invalid$/],
  ['expired', (h) => h.jwt({ nowMs: h.clock.now() - 3600_000, lifetimeSeconds: 600 }), /^ERR_JWT_EXPIRED/],
  ['expired one second beyond the clock tolerance', (h) => h.jwt({ claims: { exp: nowSeconds(h) - 6 } }), /^ERR_JWT_EXPIRED/],
  ['not-before in the future', (h) => h.jwt({ claims: { nbf: nowSeconds(h) + 3600 } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:nbf:check_failed$/],
  ['nbf as a string', (h) => h.jwt({ claims: { nbf: String(nowSeconds(h)) as unknown as number } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:nbf:invalid$/],
  ['iat as a string', (h) => h.jwt({ claims: { iat: String(nowSeconds(h)) as unknown as number } }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:iat:invalid$/],
  ['issued-at in the future (issuer with maxTokenAgeSeconds)', (h) => strictToken(h, { iat: nowSeconds(h) + 600 }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:iat:check_failed$/],
  // The log must tell this apart from an expired `exp`: this token's exp is an hour away.
  ['older than maxTokenAgeSeconds', (h) => strictToken(h, { iat: nowSeconds(h) - strictMaxAgeSeconds - 60, nbf: nowSeconds(h) - strictMaxAgeSeconds - 60 }), /^ERR_JWT_EXPIRED.*iat/],
  ['no iat for an issuer with maxTokenAgeSeconds', (h) => strictToken(h, {}, ['iat']), /^ERR_JWT_CLAIM_VALIDATION_FAILED:iat:missing$/],

  // Claims and header fields the issuer requires.
  ['typ mismatch', (h) => strictToken(h, {}, [], { typ: 'at+jwt' }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:typ:check_failed$/],
  ['typ missing', (h) => forge({ alg: 'RS256', kid: f.strict.kid }, strictClaims(h), f.strict.rsa), /^ERR_JWT_CLAIM_VALIDATION_FAILED:typ:check_failed$/],
  ['missing a configured required claim (jti)', (h) => strictToken(h, {}, ['jti']), /^ERR_JWT_CLAIM_VALIDATION_FAILED:jti:missing$/],

  // Subject.
  ['missing sub', (h) => h.jwt({ omit: ['sub'] }), /^ERR_JWT_CLAIM_VALIDATION_FAILED:sub:missing$/],
  ['empty sub', (h) => h.jwt({ claims: { sub: '' } }), /^invalid_sub$/],
  ['sub is a number', (h) => h.jwt({ claims: { sub: 42 as unknown as string } }), /^invalid_sub$/],
  ['sub is null', (h) => h.jwt({ claims: { sub: null as unknown as string } }), /^invalid_sub$/],
]

/** What the caller saw and what the log said for one request. */
async function attempt(h: Harness, jwt: string | undefined): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown>; reason: unknown }> {
  const res = await h.getToken('ads-us', jwt)
  const logged = h.logs.find((r) => r.requestId === undefined && r.reqId === res.headers['x-request-id'] && typeof r.reason === 'string')
  return { status: res.statusCode, body: res.json(), headers: res.headers, reason: logged[0]?.reason }
}

t.before(async () => {
  const dir = t.testdir({ 'hmac.secret': `${hmacSecret}\n` })
  const strict = await callerKeys()
  const stranger = await generateKeyPair('RS256')
  f = {
    stranger: stranger.privateKey,
    strangerJwk: await exportJWK(stranger.publicKey),
    strict: { ...strict, kid: 'strict-rsa-1', jwks: { keys: strict.jwks.keys.map((k) => ({ ...k, kid: `strict-${k.kid}` })) } },
    hmacSecretFile: join(dir, 'hmac.secret'),
    bystander: await JwksServer.start(),
  }
})
t.teardown(() => f.bystander.close())

t.test('well-formed tokens of every issuer and algorithm are accepted', async (t) => {
  const h = await build(t, { config: threeIssuers })
  for (const [name, make] of controls) t.equal((await h.getToken('ads-us', await make(h))).statusCode, 200, name)
})

t.test(`every one of ${catalogue.length} bad tokens answers 401 unauthenticated with the failed check in the log`, async (t) => {
  const h = await build(t, { config: threeIssuers })
  t.ok(catalogue.length >= 40, 'the catalogue has at least 40 entries')
  t.equal(new Set(catalogue.map(([name]) => name)).size, catalogue.length, 'every entry has its own name')
  for (const [name, make, reason] of catalogue) {
    const res = await attempt(h, await make(h))
    t.equal(res.status, 401, name)
    t.equal(res.body.error, 'unauthenticated', name)
    t.equal(res.body.message, 'missing or invalid bearer token', `${name}: the caller learns nothing about which check failed`)
    t.match(res.headers['www-authenticate'], /^Bearer realm="lwa-broker"/, name)
    t.match(res.reason, reason, `${name}: the log says which check failed`)
  }
  t.equal(h.lwa.callCount(), 0, 'no bad token ever reached LWA')
  t.equal(f.bystander.requests(), 0, 'neither an unknown issuer nor a jku header made the broker fetch anything')
})

// jose checks a future `iat` only when maxTokenAge is set; issue 4 asks for it to be refused regardless.
t.test('a token issued in the future is refused even when the issuer sets no maxTokenAgeSeconds', async (t) => {
  const h = await build(t)
  const res = await attempt(h, await h.jwt({ claims: { iat: nowSeconds(h) + 3600 } }))
  t.equal(res.status, 401, 'iat an hour ahead')
  t.match(res.reason, /iat/, 'the log names iat')
})

t.test('the Authorization scheme must be Bearer', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt()
  for (const header of [`Basic ${jwt}`, jwt, `Bearer`, `Bearer ${jwt} extra`]) {
    const res = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: header } })
    t.equal(res.statusCode, 401, header.slice(0, 12))
  }
  const lower = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: `bearer ${jwt}` } })
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive (RFC 9110)')
})

t.test('a Kubernetes projected token is matched by namespace, service account and pod name', async (t) => {
  const h = await build(t, {
    config: (base) => ({
      ...base,
      policy: [
        { subject: 'system:serviceaccount:*', kubernetes: { namespace: 'ads', serviceAccount: 'reporter' }, credentials: ['ads-us'] },
        { subject: 'system:serviceaccount:*', claims: { 'kubernetes.io/pod/name': 'reporter-*' }, credentials: ['sp-acme-eu'] },
      ],
    }),
  })
  const token = (namespace: string, serviceAccount: string, pod: string): Promise<string> => forge({ alg: 'RS256', kid: 'rsa-1' }, projectedClaims(h, {
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    'kubernetes.io': { ...(projectedClaims(h)['kubernetes.io'] as object), namespace, serviceaccount: { name: serviceAccount, uid: randomUUID() }, pod: { name: pod, uid: randomUUID() } },
  }), h.keys.rsa)
  const cases: Array<[string, string, string, string, number]> = [
    ['ads', 'reporter', 'reporter-7d9f8c6b5-x2k4q', 'ads-us', 200],
    ['ads', 'reporter', 'reporter-7d9f8c6b5-x2k4q', 'sp-acme-eu', 200],
    ['ads', 'reporter', 'scraper-5c6d7e8f9-abcde', 'sp-acme-eu', 403],
    ['ads', 'scraper', 'scraper-5c6d7e8f9-abcde', 'ads-us', 403],
    ['billing', 'reporter', 'invoicer-6b7c8d9e0-fghij', 'ads-us', 403],
    ['billing', 'reporter', 'invoicer-6b7c8d9e0-fghij', 'sp-acme-eu', 403],
  ]
  for (const [namespace, serviceAccount, pod, credential, status] of cases) {
    const res = await h.getToken(credential, await token(namespace, serviceAccount, pod))
    const what = `${namespace}/${serviceAccount} (pod ${pod}) asking for ${credential}`
    t.equal(res.statusCode, status, what)
    if (status === 403) {
      t.equal(res.json().error, 'forbidden', what)
      t.equal(res.json().message, `caller system:serviceaccount:${namespace}:${serviceAccount} may not use credential ${credential}`, `${what}: names the caller and the credential, nothing else`)
    }
  }
})

t.test('unusable issuer keys stop start-up with a message naming the issuer and the file', async (t) => {
  const { Authenticator } = await import('../../src/auth/index.js')
  const { FakeClock } = await import('../support/fake-clock.js')
  const base = { issuer: issuerUrl, audiences: [audience], algorithms: ['RS256' as const], clockToleranceSeconds: 5, requiredClaims: [], requireJti: false }
  const remote = { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 60000 }
  const options = { clock: new FakeClock(), cache: { maxEntries: 10, maxAgeMs: 60000 }, claims: new Set<string>() }
  t.throws(() => new Authenticator([{ ...base, jwks: { ...remote, file: '/nonexistent/jwks.json' } }], options),
    { name: 'TypeError', message: /issuer https:\/\/oidc\.test\.example\/id\/CLUSTER: cannot use JWKS file \/nonexistent\/jwks\.json/ })
  t.throws(() => new Authenticator([{ ...base, jwks: { ...remote, keys: 'not-a-list' as unknown as [] } }], options),
    { name: 'TypeError', message: /cannot use inline JWKS/ })
  const hmac = { ...base, algorithms: ['HS256' as const], jwks: remote }
  t.throws(() => new Authenticator([{ ...hmac, sharedSecretFile: f.hmacSecretFile.replace('hmac.secret', 'missing.secret') }], options),
    { name: 'TypeError', message: /cannot read sharedSecretFile .*missing\.secret: ENOENT/ })
})

// ---- The verified-token cache -------------------------------------------------------------

/**
 * A broker whose only issuer is a JWKS server with no cooldown, so a key the server stops
 * publishing is forgotten by the broker at the next unknown kid: a fresh verification of a
 * token signed with it then fails, and only the cache can still accept that token.
 */
async function cachedBroker(t: Test, cache: { maxEntries?: number; maxAgeSeconds?: number }) {
  const server = await JwksServer.start()
  t.teardown(() => server.close())
  const h = await build(t, {
    config: (base) => ({
      ...base,
      auth: { verifiedTokenCache: cache },
      issuers: [{ issuer: server.url, audiences: [audience], algorithms: ['RS256'], jwks: { uri: server.jwksUri, cooldownMs: 0 } }],
    }),
  })
  const token = (key = server.currentKey): Promise<string> => server.sign(projectedClaims(h, { iss: server.url }), { key })
  /** Publishes a new key instead of `retired`, and makes the broker refetch the JWKS (a token with the new kid). */
  const retire = async (retired = server.currentKey): Promise<void> => {
    const next = await server.addKey()
    server.removeKey(retired.kid)
    t.equal((await h.getToken('ads-us', await token(next))).statusCode, 200, 'a token with the new kid is accepted after one refetch')
  }
  return { h, server, token, retire }
}

t.test('the same JWT twice: the second is not verified again, until the cache entry\'s maxAgeSeconds passes', async (t) => {
  const { h, server, token, retire } = await cachedBroker(t, { maxAgeSeconds: 60 })
  const old = server.currentKey
  const jwt = await token()
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'first use: verified')
  await retire(old)
  const fetches = server.requests()
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'the same JWT is still accepted: it was not verified again')
  t.equal(server.requests(), fetches, 'and no key was fetched for it')
  const other = await attempt(h, await token(old))
  t.equal(other.status, 401, 'a different JWT signed with the retired key is verified, and fails')
  t.match(other.reason, /^ERR_JWKS_NO_MATCHING_KEY$/)
  h.clock.advance(60_000)
  const expired = await attempt(h, jwt)
  t.equal(expired.status, 401, 'after maxAgeSeconds the cached JWT is verified again, and fails')
  t.match(expired.reason, /^ERR_JWKS_NO_MATCHING_KEY$/)
})

t.test('known(): the caller of a JWT verified before, synchronously; nothing for one never verified, malformed or expired', async (t) => {
  const { h, token } = await cachedBroker(t, { maxAgeSeconds: 60 })
  const authenticator = h.services.authenticator
  const jwt = await token()
  t.equal(authenticator.known(`Bearer ${jwt}`), undefined, 'not verified yet')
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  t.match(authenticator.known(`Bearer ${jwt}`), { subject: 'system:serviceaccount:ads:reporter' }, 'verified once: known')
  for (const header of [undefined, '', `Basic ${jwt}`, 'Bearer', `Bearer ${'x'.repeat(9000)}`]) {
    t.equal(authenticator.known(header), undefined, `${String(header).slice(0, 12)}: not known`)
  }
  h.clock.advance(60_000)
  t.equal(authenticator.known(`Bearer ${jwt}`), undefined, 'past the entry\'s maxAgeSeconds')
})

t.test('auth.verifiedTokenCache.maxEntries: 0 verifies every request', async (t) => {
  const { h, token, retire } = await cachedBroker(t, { maxEntries: 0 })
  const jwt = await token()
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  await retire()
  const again = await attempt(h, jwt)
  t.equal(again.status, 401, 'the same JWT is verified again, and its key is gone')
  t.match(again.reason, /^ERR_JWKS_NO_MATCHING_KEY$/)
})

t.test('the cache is bounded by maxEntries: the least recently used entry is verified again', async (t) => {
  const { h, server, token, retire } = await cachedBroker(t, { maxEntries: 1 })
  const jwt = await token()
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  await retire() // verifies a token with the new key, which takes the only entry
  const again = await attempt(h, jwt)
  t.equal(again.status, 401, 'the evicted JWT is verified again, and its key is gone')
  t.match(again.reason, /^ERR_JWKS_NO_MATCHING_KEY$/)
  t.equal(server.requests(), 3, 'one fetch for the first key, one for the new kid, one more for the evicted token\'s now unknown kid')
})

t.test('a cached JWT is refused once it expires, and once it is older than maxTokenAgeSeconds', async (t) => {
  const h = await build(t, {
    config: (base) => ({
      ...base,
      auth: { verifiedTokenCache: { maxAgeSeconds: 3600 } },
      issuers: (base.issuers as object[]).map((issuer) => ({ ...issuer, maxTokenAgeSeconds: 300 })),
    }),
  })
  const cases: Array<[string, number, number, RegExp]> = [
    // [what, lifetime s, clock advance s (past the 5 s tolerance), reason]
    ['past its exp', 60, 66, /^ERR_JWT_EXPIRED/],
    ['older than maxTokenAgeSeconds, though exp is ahead', 3600, 306, /^ERR_JWT_EXPIRED/],
  ]
  for (const [what, lifetimeSeconds, advanceSeconds, reason] of cases) {
    const jwt = await h.jwt({ lifetimeSeconds, claims: { jti: randomUUID() } })
    t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, `${what}: accepted while fresh`)
    t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, `${what}: accepted again from the cache`)
    h.clock.advance(advanceSeconds * 1000)
    const res = await attempt(h, jwt)
    t.equal(res.status, 401, `${what}: refused`)
    t.match(res.reason, reason, `${what}: the log says why`)
  }
})
