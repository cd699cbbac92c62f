import t from 'tap'
import { build, type Harness, type MintOptions } from '../../helper.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const admin: MintOptions = { claims: { sub: 'system:serviceaccount:ops:admin' } }

/** A credential name of `length` characters: letters and digits, as credentialNamePattern allows. */
const nameOf = (length: number): string => `ads${'0123456789abcdefghij'.repeat(7)}`.slice(0, length)

const withLongNames = (names: string[]) => (c: Record<string, unknown>): Record<string, unknown> => ({
  ...c,
  credentials: { ...(c.credentials as object), ...Object.fromEntries(names.map((n) => [n, { api: 'ads', region: 'na', secret: 'lwa/ads-us' }])) },
  policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }],
})

const adminPost = async (h: Harness, url: string, who: MintOptions = admin) =>
  h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${await h.jwt(who)}` } })

t.test('credential names of 101–128 characters fail admin refresh: a forced refresh of a 101- and a 128-character name works, and /token serves them', async (t) => {
  const names = [nameOf(101), nameOf(128)]
  t.same(names.map((n) => n.length), [101, 128])
  const h = await build(t, { config: withLongNames(names) })
  for (const name of names) {
    const refreshed = await adminPost(h, `/admin/credentials/${name}/refresh`)
    t.equal(refreshed.statusCode, 200, `${name.length} characters: refreshed`)
    t.match(refreshed.json(), { credential: name, health: 'healthy', last_error: null })
    const token = await h.getToken(name, await h.jwt(platform))
    t.equal(token.statusCode, 200, `${name.length} characters: GET /token`)
    t.match(token.json(), { access_token: /^Atza\|/ })
  }
  t.equal(h.lwa.callCount(), 2, 'one real LWA refresh per forced refresh; /token used the fresh token')
  t.equal(h.logs.find((r) => r.event === 'admin.credentials.refresh' && r.outcome === 'allowed').length, 2, 'each refresh audited')
})

t.test('credential names of 101–128 characters fail admin refresh: a 129-character name is 400 invalid_request, not 500 or a Fastify error', async (t) => {
  const h = await build(t, { config: withLongNames([nameOf(128)]) })
  const res = await adminPost(h, `/admin/credentials/${nameOf(128)}x/refresh`)
  t.equal(res.statusCode, 400)
  t.same(Object.keys(res.json()).sort(), ['error', 'message', 'request_id'], 'the broker\'s error shape')
  t.equal(res.json().error, 'invalid_request')
  t.notOk('statusCode' in res.json() || 'code' in res.json(), 'not Fastify\'s {statusCode, code, error, message}')
  t.equal(h.lwa.callCount(), 0)
})

const compat = (h: Harness, fields: Record<string, string>, headers: Record<string, string> = {}) => h.app.inject({
  method: 'POST',
  url: '/auth/o2/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', ...headers },
  payload: new URLSearchParams(fields).toString(),
})

/** What an LWA SDK doing HTTP Basic client authentication sends. */
const basic = (clientId: string, secret: string): string => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`

t.test('an Authorization: Basic header hides the JWT in client_secret on /auth/o2/token: the body\'s JWT is used', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const res = await compat(h, { grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_id: 'amzn1.application-oa2-client.sdk', client_secret: jwt },
    { authorization: basic('amzn1.application-oa2-client.sdk', 'not-a-jwt') })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { refresh_token: 'sp-acme-eu', token_type: 'bearer', access_token: /^Atza\|/ })
  t.match(h.logs.find((r) => r.event === 'token.issued'), [{ credential: 'sp-acme-eu', callerSubject: 'system:serviceaccount:platform:all' }])
})

t.test('an Authorization: Basic header hides the JWT in client_secret on /auth/o2/token: a Bearer header still wins over the body', async (t) => {
  const h = await build(t)
  // The body's JWT may not use sp-acme-eu: were it used, the answer would be invalid_grant.
  const res = await compat(h, { grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: await h.jwt(reporter) },
    { authorization: `Bearer ${await h.jwt(platform)}` })
  t.equal(res.statusCode, 200)
  t.match(h.logs.find((r) => r.event === 'token.issued'), [{ credential: 'sp-acme-eu', callerSubject: 'system:serviceaccount:platform:all' }])
  const forged = await compat(h, { grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: await h.jwt(platform) },
    { authorization: 'Bearer not-a-jwt' })
  t.equal(forged.statusCode, 401, 'a bad Bearer header is not rescued by a good body')
  t.equal(forged.json().error, 'invalid_client')
})

t.test('an Authorization: Basic header hides the JWT in client_secret on /auth/o2/token: a Basic header and no client_secret is 401 invalid_client', async (t) => {
  const h = await build(t)
  const res = await compat(h, { grant_type: 'refresh_token', refresh_token: 'ads-us', client_id: 'amzn1.application-oa2-client.sdk' },
    { authorization: basic('amzn1.application-oa2-client.sdk', 'amzn1.oa2-cs.v1.whatever') })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { error: 'invalid_client', error_description: 'Client authentication failed' })
  t.ok(h.logs.find((r) => r.reqId === res.headers['x-request-id'] && r.reason === 'not_bearer').length > 0, 'the log says the header was not a bearer token')
  t.equal(h.lwa.callCount(), 0)
})

t.test('admin routes took the JWT from the request body: only the Authorization header authenticates an admin', async (t) => {
  const h = await build(t, { config: withLongNames([]) })
  const jwt = await h.jwt(admin)
  for (const url of ['/admin/secrets/reload', '/admin/credentials/ads-us/refresh']) {
    const res = await h.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ client_secret: jwt }) })
    t.equal(res.statusCode, 401, `${url}: a JWT in the body is not a credential`)
    t.equal(res.json().error, 'unauthenticated', url)
    t.ok(h.logs.find((r) => r.reqId === res.headers['x-request-id'] && r.reason === 'missing_token').length > 0, `${url}: the log says no token was sent`)
  }
  t.equal(h.lwa.callCount(), 0, 'nothing was refreshed')
  t.match(h.logs.find((r) => r.event === 'admin.secrets.reload'), [{ outcome: 'denied', error: 'unauthenticated' }])

  const res = await h.app.inject({ method: 'POST', url: '/admin/secrets/reload', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.statusCode, 200, 'the same JWT in the header')
  t.match(res.json(), { reloaded_secrets: Number })
})

t.test('the Authorization header\'s forms: the scheme in any case, spaces around the token; a second word is not a bearer token', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const get = (authorization: string) => h.app.inject({ method: 'GET', url: '/token?credential=ads-us', headers: { authorization } })
  for (const form of [`Bearer ${jwt}`, `bearer ${jwt}`, `BEARER  ${jwt}`, `Bearer ${jwt}  `]) {
    t.equal((await get(form)).statusCode, 200, JSON.stringify(form.replace(jwt, '<jwt>')))
  }
  for (const form of [`Bearer ${jwt} extra`, `Bearer  ${jwt} x`, `Bearer`, `Token ${jwt}`]) {
    const res = await get(form)
    t.equal(res.statusCode, 401, JSON.stringify(form.replace(jwt, '<jwt>')))
    t.ok(h.logs.find((r) => r.reqId === res.headers['x-request-id'] && r.reason === 'not_bearer').length > 0, 'not_bearer')
  }
})
