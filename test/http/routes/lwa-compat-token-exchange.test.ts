// RFC 8693 token exchange on POST /auth/o2/token: the caller's JWT as subject_token, a
// credential as resource or audience, GET /token's headers beside RFC 8693's fields; each RFC
// error, audited and counted as every other way a token leaves the broker.
import t from 'tap'
import { build, fixtures, type Harness, type MintOptions } from '../../helper.js'
import { auditOf, formOf, postToken, tokenOutcomes } from '../../support/compat-client.js'


type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]
const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const grant = 'urn:ietf:params:oauth:grant-type:token-exchange'
const jwtType = 'urn:ietf:params:oauth:token-type:jwt'
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token'

const exchange = (subjectToken: string, fields: Record<string, string> = {}) => formOf({
  grant_type: grant, subject_token: subjectToken, subject_token_type: jwtType, resource: 'ads-us', ...fields,
})

async function expectError(t: Test, h: Harness, body: string, status: number, error: string, headers: Record<string, string> = {}) {
  const res = await postToken(h, body, headers)
  t.equal(res.statusCode, status, error)
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], 'RFC 6749\'s error fields')
  t.equal(res.json().error, error)
  t.equal(res.headers['cache-control'], 'no-store')
  return res
}

t.test('happy path: RFC 8693\'s answer with GET /token\'s headers, audited and counted', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const res = await postToken(h, exchange(jwt, { requested_token_type: accessTokenType }))
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'headers', 'issued_token_type', 'token_type'])
  t.match(body, { issued_token_type: accessTokenType, token_type: 'bearer', expires_in: 3600 })
  t.match(body.access_token, /^Atza\|/)
  t.equal(res.headers['cache-control'], 'no-store')
  const viaGet = (await h.getToken('ads-us', jwt)).json()
  t.same(body.headers, viaGet.headers, 'the same headers GET /token answers (Authorization, ClientId, Scope)')
  t.equal(body.headers['Amazon-Advertising-API-ClientId'], fixtures.adsClient.clientId)
  t.equal(h.lwa.callCount(), 1, 'one token, cached, for both routes')
  t.match(auditOf(h, res), [{ event: 'token.issued', credential: 'ads-us', callerSubject: 'system:serviceaccount:platform:all', tokenFingerprint: /^sha256:/ }])
  t.equal(await tokenOutcomes(h, 'ads-us', 'issued'), 2)
  const leaks = h.logs.lines.filter((line) => line.includes(jwt) || line.includes(body.access_token))
  t.same(leaks, [], 'neither the JWT nor the token in any log line')
})

t.test('audience names the credential too; both given must agree; id_token is a JWT subject as well; JSON bodies', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const audience = await postToken(h, formOf({ grant_type: grant, subject_token: jwt, subject_token_type: jwtType, audience: 'sp-acme-eu' }))
  t.equal(audience.statusCode, 200)
  t.same(audience.json().headers, { 'x-amz-access-token': audience.json().access_token }, 'SP-API\'s header')
  const both = await postToken(h, exchange(jwt, { audience: 'ads-us' }))
  t.equal(both.statusCode, 200)
  const idToken = await postToken(h, exchange(jwt, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }))
  t.equal(idToken.statusCode, 200)
  const json = await postToken(h, { grant_type: grant, subject_token: jwt, subject_token_type: jwtType, resource: 'ads-us', min_ttl: 120 })
  t.equal(json.statusCode, 200)
})

t.test('min_ttl: a cached token with less life left is replaced first', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt({ ...platform, lifetimeSeconds: 3600 })
  const first = (await postToken(h, exchange(jwt))).json()
  h.clock.advance(3000_000)
  const kept = (await postToken(h, exchange(jwt))).json()
  t.equal(kept.access_token, first.access_token, 'default min_ttl (60 s): 600 s left serves')
  const fresh = (await postToken(h, exchange(jwt, { min_ttl: '900' }))).json()
  t.not(fresh.access_token, first.access_token)
  t.ok(fresh.expires_in >= 900)
})

t.test('invalid_request: a required field missing, resource and audience that differ', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  await expectError(t, h, formOf({ grant_type: grant, subject_token: jwt, resource: 'ads-us' }), 400, 'invalid_request')
  await expectError(t, h, formOf({ grant_type: grant, subject_token: jwt, subject_token_type: jwtType }), 400, 'invalid_request')
  await expectError(t, h, exchange(jwt, { audience: 'sp-acme-eu' }), 400, 'invalid_request')
  const actor = await expectError(t, h, exchange(jwt, { actor_token: jwt, actor_token_type: jwtType }), 400, 'invalid_request')
  t.notOk(actor.body.includes(jwt), 'the answer does not echo the actor token')
  t.equal(h.lwa.callCount(), 0)
})

t.test('invalid_request: no subject_token, even with a JWT elsewhere: the subject token is the only credential', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const body = formOf({ grant_type: grant, subject_token_type: jwtType, resource: 'ads-us', client_secret: jwt })
  const res = await expectError(t, h, body, 400, 'invalid_request', { authorization: `Bearer ${jwt}` })
  t.match(res.json().error_description, /subject_token/, 'it says what is missing')
  t.equal(res.headers['www-authenticate'], undefined, 'no challenge, as LWA')
  t.match(auditOf(h, res), [{ event: 'token.denied', error: 'unauthenticated', credential: 'ads-us' }])
})

t.test('invalid_request (RFC 8693 2.2.2): a subject_token that is not an acceptable JWT (expired, unknown signer, not a JWT)', async (t) => {
  const h = await build(t)
  const expired = await h.jwt({ ...platform, nowMs: h.clock.now() - 3_600_000, lifetimeSeconds: 600 })
  const wrongKid = await h.jwt({ ...platform, kid: 'nobody' })
  for (const subject of [expired, wrongKid, 'not-a-jwt']) {
    const res = await expectError(t, h, exchange(subject), 400, 'invalid_request')
    t.equal(res.json().error_description, 'The subject_token is not acceptable', 'which check failed is for the log only')
    t.match(auditOf(h, res), [{ event: 'token.denied', error: 'unauthenticated' }])
  }
  t.equal(await tokenOutcomes(h, '(denied)', 'unauthenticated'), 3)
})

t.test('invalid_target: unknown and not-allowed credentials answered alike; a resource that is no name', async (t) => {
  const h = await build(t)
  const unknown = await expectError(t, h, exchange(await h.jwt(platform), { resource: 'sp-nope' }), 400, 'invalid_target')
  const denied = await expectError(t, h, exchange(await h.jwt(reporter), { resource: 'sp-acme-eu' }), 400, 'invalid_target')
  t.same(denied.json(), unknown.json(), 'a denied caller learns nothing about which names exist')
  t.match(auditOf(h, denied), [{ event: 'token.denied', error: 'forbidden', credential: 'sp-acme-eu' }])
  t.match(auditOf(h, unknown), [{ event: 'token.denied', error: 'unknown_credential' }])
  t.equal(await tokenOutcomes(h, '(denied)', 'forbidden'), 1)
  t.equal(await tokenOutcomes(h, '(unknown)', 'unknown_credential'), 1)
  const url = await expectError(t, h, exchange(await h.jwt(platform), { resource: 'https://sellingpartnerapi-eu.amazon.com' }), 400, 'invalid_target')
  t.same(url.json(), unknown.json())
  t.equal(h.lwa.callCount(), 0)
})

t.test('invalid_target when LWA refused the credential\'s stored grant (only an allowed caller gets this far)', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, lwa: { ...(c.lwa as object), attempts: 1 } }) })
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const res = await expectError(t, h, exchange(await h.jwt(platform)), 400, 'invalid_target')
  t.equal(res.json().error_description, 'Login with Amazon refused the credential')
  t.equal(await tokenOutcomes(h, 'ads-us', 'credential_rejected'), 1)
})

t.test('unsupported_token_type: a subject_token_type or requested_token_type not served', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  await expectError(t, h, exchange(jwt, { subject_token_type: accessTokenType }), 400, 'unsupported_token_type')
  await expectError(t, h, exchange(jwt, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 400, 'unsupported_token_type')
  t.equal(h.lwa.callCount(), 0)
})

t.test('temporarily_unavailable: 503 with Retry-After when LWA is down, 429 with Retry-After when rate-limited', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, lwa: { ...(c.lwa as object), attempts: 1 }, rateLimit: { max: 2, unauthenticatedMax: 100 } }) })
  const jwt = await h.jwt(platform)
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable', retryAfter: '7' })
  const down = await expectError(t, h, exchange(jwt), 503, 'temporarily_unavailable')
  t.equal(down.headers['retry-after'], '7')
  h.lwa.setFault(null)
  // ads-us waits out its failure backoff; another credential spends the same caller budget.
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 200, 'GET /token spends the same budget')
  const limited = await expectError(t, h, exchange(jwt), 429, 'temporarily_unavailable')
  t.ok(Number(limited.headers['retry-after']) >= 1)
})
