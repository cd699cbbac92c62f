import t from 'tap'
import { generateKeyPair, UnsecuredJWT, type CryptoKey } from 'jose'
import { audience, build, issuerUrl, type Harness } from '../helper.js'

/** Flips one character in the middle of a base64url segment. */
function tamper(jwt: string, segment: 0 | 1 | 2): string {
  const parts = jwt.split('.')
  const s = parts[segment] as string
  const i = Math.floor(s.length / 2)
  parts[segment] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  return parts.join('.')
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

let strangerKey: CryptoKey

/** Bad tokens, each with the check that must fail (the reason in the log). */
const catalogue: Array<[string, (h: Harness) => Promise<string | undefined>, RegExp]> = [
  ['no Authorization header', async () => undefined, /^missing_token$/],
  ['expired', (h) => h.jwt({ nowMs: h.clock.now() - 3600_000, lifetimeSeconds: 600 }), /ERR_JWT_EXPIRED/],
  ['wrong audience', (h) => h.jwt({ claims: { aud: 'someone-else' } }), /ERR_JWT_CLAIM_VALIDATION_FAILED:aud/],
  ['missing audience', (h) => h.jwt({ omit: ['aud'] }), /ERR_JWT_CLAIM_VALIDATION_FAILED:aud/],
  ['wrong issuer', (h) => h.jwt({ claims: { iss: 'https://evil.example' } }), /^unknown_issuer$/],
  ['missing issuer', (h) => h.jwt({ omit: ['iss'] }), /^missing_issuer$/],
  ['missing exp', (h) => h.jwt({ omit: ['exp'] }), /ERR_JWT_CLAIM_VALIDATION_FAILED:exp/],
  ['missing sub', (h) => h.jwt({ omit: ['sub'] }), /ERR_JWT_CLAIM_VALIDATION_FAILED:sub/],
  ['alg none', async (h) => new UnsecuredJWT({ iss: issuerUrl, aud: audience, sub: 's', exp: Math.floor(h.clock.now() / 1000) + 600 }).encode(), /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/],
  ['unknown kid', (h) => h.jwt({ kid: 'rsa-unknown' }), /ERR_JWKS_NO_MATCHING_KEY/],
  ['signed by a key the issuer does not have', (h) => h.jwt({ key: strangerKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
  ['tampered header', async (h) => tamper(await h.jwt(), 0), /.+/],
  ['tampered payload', async (h) => tamper(await h.jwt(), 1), /.+/],
  ['tampered signature', async (h) => tamper(await h.jwt(), 2), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
  ['payload swapped to another subject', async (h) => {
    const [head, , sig] = (await h.jwt()).split('.')
    return `${head}.${b64({ iss: issuerUrl, aud: audience, sub: 'system:serviceaccount:platform:all', exp: Math.floor(h.clock.now() / 1000) + 600 })}.${sig}`
  }, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
  ['not a JWT', async () => 'not-a-jwt', /^malformed_token$/],
  ['not-before in the future', (h) => h.jwt({ claims: { nbf: Math.floor(h.clock.now() / 1000) + 3600 } }), /ERR_JWT_CLAIM_VALIDATION_FAILED:nbf/],
  ['oversized', async (h) => h.jwt({ claims: { pad: 'x'.repeat(10_000) } }), /^oversized_token$/],
]

t.before(async () => {
  strangerKey = (await generateKeyPair('RS256')).privateKey
})

t.test('a valid JWT is accepted', async (t) => {
  const h = await build(t)
  t.equal((await h.getToken('ads-us', await h.jwt())).statusCode, 200)
  t.equal((await h.getToken('ads-us', await h.jwt({ alg: 'ES256' }))).statusCode, 200, 'ES256 from the same issuer')
})

t.test('every bad token answers 401 unauthenticated with the failed check in the log', async (t) => {
  const h = await build(t)
  for (const [name, make, reason] of catalogue) {
    const jwt = await make(h)
    const res = await h.getToken('ads-us', jwt)
    t.equal(res.statusCode, 401, name)
    t.same(res.json().error, 'unauthenticated', name)
    t.equal(res.json().message, 'missing or invalid bearer token', `${name}: the caller learns nothing about which check failed`)
    t.match(res.headers['www-authenticate'], /^Bearer realm="lwa-broker"/, name)
    const logged = h.logs.find((r) => r.requestId === undefined && r.reqId === res.headers['x-request-id'] && typeof r.reason === 'string')
    t.match(logged[0]?.reason, reason, `${name}: log says which check failed`)
  }
  t.equal(h.lwa.callCount(), 0, 'no bad token ever reached LWA')
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

t.test('unusable issuer keys stop start-up with a message naming the issuer and the file', async (t) => {
  const { Authenticator } = await import('../../src/auth/index.js')
  const { FakeClock } = await import('../support/fake-clock.js')
  const base = { issuer: issuerUrl, audiences: [audience], algorithms: ['RS256' as const], clockToleranceSeconds: 5, requiredClaims: [] }
  const remote = { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 60000 }
  const options = { clock: new FakeClock(), cache: { maxEntries: 10, maxAgeMs: 60000 } }
  t.throws(() => new Authenticator([{ ...base, jwks: { ...remote, file: '/nonexistent/jwks.json' } }], options),
    { name: 'TypeError', message: /issuer https:\/\/oidc\.test\.example\/id\/CLUSTER: cannot use JWKS file \/nonexistent\/jwks\.json/ })
  t.throws(() => new Authenticator([{ ...base, jwks: { ...remote, keys: 'not-a-list' as unknown as [] } }], options),
    { name: 'TypeError', message: /cannot use inline JWKS/ })
})
