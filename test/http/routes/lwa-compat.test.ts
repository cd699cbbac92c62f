import { Agent as HttpsAgent } from 'node:https'
import { connect } from 'node:net'
import t from 'tap'
import { build, fixtures, type MintOptions } from '../../helper.js'
import { formOf, postToken } from '../../support/compat-client.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }

const post = postToken

t.test('LWA request shape in, LWA response shape out: form and JSON, JWT as client_secret or Bearer header', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const cases: Array<[string, () => Promise<Awaited<ReturnType<typeof post>>>]> = [
    ['form, client_secret', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_id: 'any', client_secret: jwt }))],
    ['JSON, client_secret', () => post(h, { grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_id: 'any', client_secret: jwt })],
    ['form, Bearer header', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu' }), { authorization: `Bearer ${jwt}` })],
  ]
  for (const [name, send] of cases) {
    const res = await send()
    t.equal(res.statusCode, 200, name)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'], `${name}: exactly LWA's fields`)
    t.match(body, { refresh_token: 'sp-acme-eu', token_type: 'bearer', expires_in: 3600 }, name)
    t.match(body.access_token, /^Atza\|/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.equal(h.lwa.callCount(), 1, 'three requests, one LWA call: the broker\'s cache')
  t.equal(h.logs.find((r) => r.event === 'token.issued').length, 3, 'each issuance audited')
})

t.test('every error in LWA\'s shape and status', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const reporterJwt = await h.jwt(reporter)
  const cases: Array<[string, () => Promise<Awaited<ReturnType<typeof post>>>, number, string]> = [
    ['no credentials at all', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us' })), 401, 'invalid_client'],
    ['a client_secret that is not a valid JWT', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: fixtures.adsClient.clientSecret })), 401, 'invalid_client'],
    ['an unknown credential', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-nope', client_secret: reporterJwt })), 400, 'invalid_grant'],
    ['a credential the caller may not use (same answer as unknown)', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: reporterJwt })), 400, 'invalid_grant'],
    ['another grant type', () => post(h, formOf({ grant_type: 'authorization_code', code: 'ANcode', client_secret: jwt })), 400, 'unsupported_grant_type'],
    ['a grant_type that is an inherited key, not a grant', () => post(h, formOf({ grant_type: 'constructor', client_secret: jwt })), 400, 'unsupported_grant_type'],
    ['no grant_type', () => post(h, formOf({ refresh_token: 'ads-us', client_secret: jwt })), 400, 'invalid_request'],
    ['no refresh_token', () => post(h, formOf({ grant_type: 'refresh_token', client_secret: jwt })), 400, 'invalid_request'],
    ['a refresh_token that cannot be a credential name', () => post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'Atzr|a-real-looking-refresh-token', client_secret: jwt })), 400, 'invalid_request'],
    ['malformed JSON', () => post(h, '{"grant_type":', { 'content-type': 'application/json' }), 400, 'invalid_request'],
  ]
  for (const [name, send, status, error] of cases) {
    const res = await send()
    t.equal(res.statusCode, status, name)
    t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], `${name}: LWA's error fields`)
    t.equal(res.json().error, error, name)
  }
  t.equal(h.lwa.callCount(), 0)
})

t.test('upstream failures in LWA\'s words: invalid_grant for a rejected credential, temporarily_unavailable with Retry-After', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, lwa: { ...(c.lwa as object), attempts: 1 } }) })
  const jwt = await h.jwt(platform)
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const rejected = await post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: jwt }))
  t.equal(rejected.statusCode, 400)
  t.equal(rejected.json().error, 'invalid_grant')
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable', retryAfter: '7' })
  const down = await post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: jwt }))
  t.equal(down.statusCode, 503)
  t.equal(down.json().error, 'temporarily_unavailable')
  t.equal(down.headers['retry-after'], '7')
})

t.test('the compat endpoint shares the caller\'s rate-limit budget with GET /token', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, rateLimit: { max: 2, unauthenticatedMax: 100 } }) })
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  t.equal((await post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: jwt }))).statusCode, 200)
  const limited = await post(h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: jwt }))
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'temporarily_unavailable')
  t.ok(limited.headers['retry-after'])
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 429, 'and the budget is one')
})

t.test('an unmodified SDK (amazon-sp-api) gets its token through the broker', async (t) => {
  const h = await build(t)
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = new URL(address)
  // amazon-sp-api always calls https://api.amazon.com/auth/o2/token; its documented
  // `https_proxy_agent` option is how it is routed elsewhere. This agent hands it a
  // connection to the broker instead of to Amazon. No SDK code is touched.
  const toBroker = new HttpsAgent()
  toBroker.createConnection = () => connect(Number(port), '127.0.0.1')
  const { SellingPartner } = await import('amazon-sp-api') as unknown as { SellingPartner: new (config: Record<string, unknown>) => { refreshAccessToken(): Promise<void>; access_token: string } }
  const jwt = await h.jwt({ ...platform, lifetimeSeconds: 3600 })
  const sdk = (credential: string) => new SellingPartner({
    region: 'eu',
    refresh_token: credential,
    credentials: { SELLING_PARTNER_APP_CLIENT_ID: 'amzn1.application-oa2-client.unused-by-the-broker', SELLING_PARTNER_APP_CLIENT_SECRET: jwt },
    options: { auto_request_tokens: false, https_proxy_agent: toBroker },
  })
  const clients = [sdk('sp-acme-eu'), sdk('sp-acme-eu'), sdk('sp-acme-eu')]
  for (const client of clients) await client.refreshAccessToken()
  const tokens = clients.map((c) => c.access_token)
  t.match(tokens[0], /^Atza\|/)
  t.same(new Set(tokens).size, 1, 'three SDK instances, one token')
  t.match(h.lwa.issued(tokens[0] as string), { clientId: fixtures.spClient.clientId, grantType: 'refresh_token' }, 'minted by LWA for the broker\'s own app credentials')
  t.equal(h.lwa.callCount(), 1, 'LWA was called once: what the broker\'s cache implies')
  await sdk('ads-us').refreshAccessToken()
  t.equal(h.lwa.callCount(), 2, 'another credential: one more call')
  toBroker.destroy()
})

t.test('the SDK sees LWA\'s own error for a credential it may not use', async (t) => {
  const h = await build(t)
  const { port } = new URL(await h.app.listen({ host: '127.0.0.1', port: 0 }))
  const toBroker = new HttpsAgent()
  toBroker.createConnection = () => connect(Number(port), '127.0.0.1')
  t.teardown(() => toBroker.destroy())
  const { SellingPartner } = await import('amazon-sp-api') as unknown as { SellingPartner: new (config: Record<string, unknown>) => { refreshAccessToken(): Promise<void> } }
  const client = new SellingPartner({
    region: 'na',
    refresh_token: 'sp-acme-eu',
    credentials: { SELLING_PARTNER_APP_CLIENT_ID: 'x', SELLING_PARTNER_APP_CLIENT_SECRET: await h.jwt(reporter) },
    options: { auto_request_tokens: false, https_proxy_agent: toBroker },
  })
  await t.rejects(client.refreshAccessToken(), { code: 'invalid_grant' })
})
