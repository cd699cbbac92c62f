import t from 'tap'
import { request } from 'undici'
import { call as get } from './api-test-client.js'
import { LwaEmulator } from './lwa-emulator.js'
import { decide, formOf, location } from './page-client.js'
import type { LwaEmulatorOptions } from './lwa-emulator.js'

const clientId = 'amzn1.application-oa2-client.test'
const secret = 'secret-current'
const refreshToken = 'Atzr|refresh-1'
const redirectUri = 'https://broker.example/callback'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Body = Record<string, string>

async function start(t: Test, options?: LwaEmulatorOptions): Promise<LwaEmulator> {
  const lwa = await LwaEmulator.start(options)
  t.teardown(() => lwa.close())
  lwa.addClient({ clientId, clientSecret: secret })
  lwa.addRefreshToken({ refreshToken, clientId })
  return lwa
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string }

async function post(lwa: LwaEmulator, body: Body | string, contentType = 'application/x-www-form-urlencoded;charset=UTF-8'): Promise<Answer> {
  const payload = typeof body === 'string' ? body
    : contentType.startsWith('application/json') ? JSON.stringify(body) : new URLSearchParams(body).toString()
  const res = await request(lwa.tokenUrl, { method: 'POST', headers: { 'content-type': contentType }, body: payload })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

function parse(answer: Answer): Record<string, unknown> {
  return JSON.parse(answer.text) as Record<string, unknown>
}

const refreshBody = (over: Body = {}): Body =>
  ({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: secret, ...over })
const grantlessBody = (over: Body = {}): Body =>
  ({ grant_type: 'client_credentials', scope: 'sellingpartnerapi::notifications', client_id: clientId, client_secret: secret, ...over })
const codeBody = (code: string, over: Body = {}): Body =>
  ({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, client_secret: secret, ...over })

async function expectError(t: Test, answer: Promise<Answer>, status: number, error: string): Promise<Record<string, unknown>> {
  const res = await answer
  t.equal(res.status, status, `HTTP ${status}`)
  const body = parse(res)
  t.equal(body.error, error)
  t.type(body.error_description, 'string')
  return body
}

function assertAccessToken(t: Test, token: unknown, prefix: string): void {
  t.type(token, 'string')
  const value = String(token)
  t.ok(value.startsWith(prefix), `starts with ${prefix}`)
  t.ok(value.length >= 350 && value.length <= 600, `length ${value.length} within 350..600`)
}

t.test('refresh_token grant returns a realistic token and the same refresh token', async (t) => {
  const lwa = await start(t)
  const res = await post(lwa, refreshBody())
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^application\/json;charset=UTF-8$/)
  const body = parse(res)
  assertAccessToken(t, body.access_token, 'Atza|')
  t.equal(body.refresh_token, refreshToken)
  t.equal(body.token_type, 'bearer')
  t.equal(body.expires_in, 3600)
  t.same(lwa.issued(String(body.access_token)), { clientId, grantType: 'refresh_token' })
  t.equal(lwa.issued('Atza|forged'), undefined)
})

t.test('JSON bodies, bare form content type and expires_in changes are honoured', async (t) => {
  const lwa = await start(t, { expiresInSeconds: 900 })
  const asJson = await post(lwa, refreshBody(), 'application/json')
  t.equal(asJson.status, 200)
  t.equal(parse(asJson).expires_in, 900)
  lwa.expiresInSeconds = 60
  const asForm = await post(lwa, refreshBody(), 'application/x-www-form-urlencoded')
  t.equal(parse(asForm).expires_in, 60)
  t.same(lwa.calls.map((c) => c.contentType), ['application/json', 'application/x-www-form-urlencoded'])
})

t.test('client_credentials grant returns Atc| token with scope and no refresh token', async (t) => {
  const lwa = await start(t)
  const body = parse(await post(lwa, grantlessBody()))
  assertAccessToken(t, body.access_token, 'Atc|')
  t.equal(body.scope, 'sellingpartnerapi::notifications')
  t.notOk('refresh_token' in body)
  t.same(lwa.issued(String(body.access_token)), { clientId, grantType: 'client_credentials', scope: 'sellingpartnerapi::notifications' })
})

t.test('authorization_code grant is single use, expires and binds redirect_uri', async (t) => {
  const lwa = await start(t)
  lwa.addAuthorizationCode({ code: 'code-1', clientId, redirectUri, refreshToken: 'Atzr|from-code' })
  const first = parse(await post(lwa, codeBody('code-1')))
  assertAccessToken(t, first.access_token, 'Atza|')
  t.equal(first.refresh_token, 'Atzr|from-code')
  await expectError(t, post(lwa, codeBody('code-1')), 400, 'invalid_grant')
  // The refresh token obtained from the code is a real grant from then on.
  t.equal((await post(lwa, refreshBody({ refresh_token: 'Atzr|from-code' }))).status, 200)

  lwa.addAuthorizationCode({ code: 'code-expired', clientId, redirectUri, refreshToken: 'Atzr|x', ttlMs: 0 })
  await expectError(t, post(lwa, codeBody('code-expired')), 400, 'invalid_grant')
  lwa.addAuthorizationCode({ code: 'code-2', clientId, redirectUri, refreshToken: 'Atzr|y' })
  await expectError(t, post(lwa, codeBody('code-2', { redirect_uri: 'https://evil.example/cb' })), 400, 'invalid_grant')
  await expectError(t, post(lwa, codeBody('never-issued')), 400, 'invalid_grant')
})

t.test('request errors: content type, size, parameters, grant type', async (t) => {
  const lwa = await start(t)
  const contentType = await expectError(t, post(lwa, 'x', 'text/plain'), 400, 'invalid_request')
  t.match(contentType.error_description, /unsupported Content-Type/)
  await expectError(t, post(lwa, '{not json', 'application/json'), 400, 'invalid_request')
  await expectError(t, post(lwa, refreshBody({ pad: 'x'.repeat(65 * 1024) })), 400, 'invalid_request')
  const missing = await expectError(t, post(lwa, refreshBody({ client_secret: '' })), 400, 'invalid_request')
  t.match(missing.error_description, /client_secret/)
  const noGrant = await expectError(t, post(lwa, { client_id: clientId }), 400, 'invalid_request')
  t.match(noGrant.error_description, /grant_type/)
  await expectError(t, post(lwa, refreshBody({ grant_type: 'password' })), 400, 'unsupported_grant_type')
})

t.test('client authentication and grant errors', async (t) => {
  const lwa = await start(t)
  lwa.addClient({ clientId: 'other-client', clientSecret: 'other-secret', scopes: [] })
  lwa.addRefreshToken({ refreshToken: 'Atzr|other', clientId: 'other-client' })
  const unknown = await expectError(t, post(lwa, refreshBody({ client_id: 'nobody' })), 401, 'invalid_client')
  t.equal(unknown.error_description, 'Client authentication failed')
  await expectError(t, post(lwa, refreshBody({ client_secret: 'wrong' })), 401, 'invalid_client')
  // Client authentication wins over a bad refresh token.
  await expectError(t, post(lwa, refreshBody({ client_secret: 'wrong', refresh_token: 'Atzr|nope' })), 401, 'invalid_client')
  await expectError(t, post(lwa, refreshBody({ refresh_token: 'Atzr|nope' })), 400, 'invalid_grant')
  await expectError(t, post(lwa, refreshBody({ refresh_token: 'Atzr|other' })), 400, 'invalid_grant')
  lwa.revokeRefreshToken(refreshToken)
  await expectError(t, post(lwa, refreshBody()), 400, 'invalid_grant')
  const scope = await expectError(t, post(lwa, grantlessBody({ scope: 'sellingpartnerapi::migration' })), 400, 'invalid_scope')
  t.equal(scope.error_description, 'The request has an invalid parameter : scope')
  const other = { client_id: 'other-client', client_secret: 'other-secret' }
  await expectError(t, post(lwa, grantlessBody(other)), 400, 'unauthorized_client')
})

t.test('client secret rotation: old secret rejected until accepted again', async (t) => {
  const lwa = await start(t)
  lwa.setClientSecrets(clientId, ['secret-next'])
  await expectError(t, post(lwa, refreshBody()), 401, 'invalid_client')
  t.equal((await post(lwa, refreshBody({ client_secret: 'secret-next' }))).status, 200)
  lwa.setClientSecrets(clientId, [secret, 'secret-next'])
  t.equal((await post(lwa, refreshBody())).status, 200)
  t.equal((await post(lwa, refreshBody({ client_secret: 'secret-next' }))).status, 200)
  t.throws(() => lwa.setClientSecrets('nobody', ['x']), TypeError)
})

t.test('rotateTo hands out the new refresh token once; both stay valid', async (t) => {
  const lwa = await start(t)
  lwa.addRefreshToken({ refreshToken: 'Atzr|old', clientId, rotateTo: 'Atzr|new' })
  t.equal(parse(await post(lwa, refreshBody({ refresh_token: 'Atzr|old' }))).refresh_token, 'Atzr|new')
  t.equal(parse(await post(lwa, refreshBody({ refresh_token: 'Atzr|old' }))).refresh_token, 'Atzr|old')
  t.equal(parse(await post(lwa, refreshBody({ refresh_token: 'Atzr|new' }))).refresh_token, 'Atzr|new')
})

t.test('status faults answer LWA errors, Retry-After and gateway pages', async (t) => {
  const lwa = await start(t)
  lwa.failNext({ kind: 'status', status: 429, error: 'TooManyRequests', retryAfter: '2' })
  const throttled = await post(lwa, refreshBody())
  t.equal(throttled.status, 429)
  t.equal(throttled.headers['retry-after'], '2')
  t.equal(parse(throttled).error, 'TooManyRequests')

  lwa.failNext({ kind: 'status', status: 503, error: 'temporarily_unavailable', retryAfter: '1' })
  const busy = await expectError(t, post(lwa, refreshBody()), 503, 'temporarily_unavailable')
  t.type(busy.error_description, 'string')
  lwa.failNext({ kind: 'status', status: 500, error: 'server_error', description: 'boom' })
  t.equal((await expectError(t, post(lwa, refreshBody()), 500, 'server_error')).error_description, 'boom')

  lwa.failNext({ kind: 'status', status: 502 })
  const page = await post(lwa, refreshBody())
  t.equal(page.status, 502)
  t.match(page.headers['content-type'], /^text\/html/)
  t.throws(() => JSON.parse(page.text))
  t.equal((await post(lwa, refreshBody())).status, 200, 'faults are used up')
})

t.test('body faults: malformed, no access_token, expires_in 0', async (t) => {
  const lwa = await start(t)
  lwa.failNext({ kind: 'malformed' })
  const malformed = await post(lwa, refreshBody())
  t.equal(malformed.status, 200)
  t.throws(() => JSON.parse(malformed.text))
  lwa.failNext({ kind: 'no_access_token' })
  const empty = parse(await post(lwa, refreshBody()))
  t.notOk('access_token' in empty)
  lwa.failNext({ kind: 'bad_expires_in' })
  const zero = parse(await post(lwa, refreshBody()))
  t.equal(zero.expires_in, 0)
  assertAccessToken(t, zero.access_token, 'Atza|')
})

t.test('reset fault destroys the connection; fetch rejects', async (t) => {
  const lwa = await start(t)
  lwa.failNext({ kind: 'reset' })
  const body = new URLSearchParams(refreshBody()).toString()
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  const failure = await fetch(lwa.tokenUrl, { method: 'POST', headers, body }).then(() => undefined, (err: unknown) => err)
  t.type(failure, TypeError, 'fetch rejects')
  t.match((failure as { cause?: unknown }).cause, { code: 'ECONNRESET' })
  t.equal(lwa.calls[0]?.status, 0)
  t.equal((await fetch(lwa.tokenUrl, { method: 'POST', headers, body })).status, 200)
})

t.test('slow fault and latency delay a normal answer', async (t) => {
  const lwa = await start(t, { latencyMs: 5 })
  lwa.failNext({ kind: 'slow', ms: 20 })
  t.equal((await post(lwa, refreshBody())).status, 200)
  lwa.latencyMs = 0
  t.equal((await post(lwa, refreshBody())).status, 200)
})

t.test('failNext counts, setFault persists, queued faults win, reset clears', async (t) => {
  const lwa = await start(t)
  lwa.setFault({ kind: 'status', status: 500, error: 'server_error' })
  lwa.failNext({ kind: 'status', status: 503, error: 'temporarily_unavailable' }, 2)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await post(lwa, refreshBody())).status)
  t.same(statuses, [503, 503, 500, 500])
  lwa.reset()
  t.equal(lwa.calls.length, 0)
  t.equal((await post(lwa, refreshBody())).status, 200)
})

t.test('callCount filters by grant, client, error and outcome', async (t) => {
  const lwa = await start(t)
  await post(lwa, refreshBody())
  await post(lwa, grantlessBody())
  await post(lwa, refreshBody({ client_secret: 'wrong' }))
  lwa.failNext({ kind: 'reset' })
  await t.rejects(post(lwa, refreshBody()))
  t.equal(lwa.callCount(), 4)
  t.equal(lwa.callCount({ grantType: 'refresh_token' }), 3)
  t.equal(lwa.callCount({ grantType: 'client_credentials', ok: true }), 1)
  t.equal(lwa.callCount({ ok: true }), 2)
  t.equal(lwa.callCount({ ok: false }), 2)
  t.equal(lwa.callCount({ error: 'invalid_client' }), 1)
  t.equal(lwa.callCount({ clientId, grantType: 'refresh_token', ok: false }), 2)
  t.equal(lwa.callCount({ clientId: 'nobody' }), 0)
  t.ok(lwa.calls.every((c) => typeof c.at === 'number'))
})

t.test('other paths and methods are 404 and not recorded', async (t) => {
  const lwa = await start(t)
  t.equal((await request(lwa.tokenUrl, { method: 'GET' })).statusCode, 404)
  t.equal((await request(`${lwa.url}/auth/o2/other`, { method: 'POST', body: 'x' })).statusCode, 404)
  t.equal(lwa.callCount(), 0)
})

t.test('close does not hang on keep-alive sockets or pending slow requests', async (t) => {
  const lwa = await LwaEmulator.start()
  lwa.addClient({ clientId, clientSecret: secret })
  lwa.addRefreshToken({ refreshToken, clientId })
  t.equal((await post(lwa, refreshBody())).status, 200) // leaves a keep-alive socket open
  lwa.failNext({ kind: 'slow', ms: 60_000 })
  const pending = post(lwa, refreshBody())
  while (lwa.calls.length < 2) await new Promise((resolve) => setImmediate(resolve))
  const started = Date.now()
  await lwa.close()
  await t.rejects(pending)
  t.ok(Date.now() - started < 1000, 'closed promptly')
})

// The consent side: what a browser sees at Amazon's /ap/oa and /apps/authorize/consent.
const applicationId = 'amzn1.sp.solution.emulator-test'

async function startConsent(t: Test): Promise<LwaEmulator> {
  const lwa = await start(t)
  lwa.addApplication({ applicationId, clientId })
  return lwa
}

const adsConsentUrl = (lwa: LwaEmulator, over: Body = {}): string => `${lwa.url}/ap/oa?` + new URLSearchParams({
  client_id: clientId, scope: 'advertising::campaign_management', response_type: 'code', redirect_uri: redirectUri, state: 'st<"&>ate-1', ...over,
}).toString()
const spConsentUrl = (lwa: LwaEmulator, over: Body = {}): string => `${lwa.url}/apps/authorize/consent?` + new URLSearchParams({
  application_id: applicationId, state: 'sp-state-1', redirect_uri: redirectUri, ...over,
}).toString()

t.test('Ads consent page names the client and scope and has Allow and Cancel', async (t) => {
  const lwa = await startConsent(t)
  const page = await get(adsConsentUrl(lwa))
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.text, '<title>Amazon (emulator): authorize</title>')
  t.match(page.text, clientId)
  t.match(page.text, 'advertising::campaign_management')
  t.match(page.text, '<button id="allow" name="decision" value="allow">Allow</button>')
  t.match(page.text, '<button id="deny" name="decision" value="deny">Cancel</button>')
  t.notMatch(page.text, 'st<"&>ate-1', 'state is escaped in the page')
  t.same(formOf(page.text), {
    action: '/ap/oa/decision',
    fields: { client_id: clientId, scope: 'advertising::campaign_management', redirect_uri: redirectUri, state: 'st<"&>ate-1' },
  })
  t.equal(lwa.callCount(), 0, 'consent pages are not token calls')
})

t.test('Ads consent page refuses what Amazon refuses, with an HTML page', async (t) => {
  const lwa = await startConsent(t)
  const cases: Array<[string, Body, RegExp]> = [
    ['unknown client', { client_id: 'amzn1.application-oa2-client.nobody' }, /unknown client_id/],
    ['no client', { client_id: '' }, /unknown client_id/],
    ['no scope', { scope: '' }, /scope/],
    ['wrong response_type', { response_type: 'token' }, /response_type/],
    ['no redirect_uri', { redirect_uri: '' }, /redirect_uri/],
    ['relative redirect_uri', { redirect_uri: '/callback' }, /redirect_uri/],
    ['non-http redirect_uri', { redirect_uri: 'javascript:alert(1)' }, /redirect_uri/],
    ['no state', { state: '' }, /state/],
  ]
  for (const [name, over, message] of cases) {
    const page = await get(adsConsentUrl(lwa, over))
    t.equal(page.status, 400, name)
    t.match(page.headers['content-type'], /^text\/html/, name)
    t.match(page.text, message, name)
    t.notMatch(page.text, 'id="allow"', name)
  }
  t.equal((await request(adsConsentUrl(lwa), { method: 'POST', body: '' })).statusCode, 405)
  t.equal((await get(`${lwa.url}/ap/oa/decision`)).status, 405)
})

t.test('Ads Allow redirects with code, scope and state; the code exchanges once', async (t) => {
  const lwa = await startConsent(t)
  const page = await get(adsConsentUrl(lwa, { redirect_uri: 'https://broker.example/callback?from=ads' }))
  const answer = await decide(lwa, page.text, 'allow')
  t.equal(answer.status, 302)
  const back = location(answer)
  t.equal(back.origin + back.pathname, redirectUri)
  t.equal(back.searchParams.get('from'), 'ads', 'the redirect_uri query is kept')
  const code = back.searchParams.get('code') ?? ''
  t.match(code, /^[A-Za-z0-9]{20,}$/)
  t.equal(back.searchParams.get('scope'), 'advertising::campaign_management')
  t.equal(back.searchParams.get('state'), 'st<"&>ate-1')
  t.equal(back.searchParams.get('error'), null)

  const consent = lwa.lastConsent
  t.match(consent, { kind: 'ads', code, state: 'st<"&>ate-1', clientId, redirectUri: 'https://broker.example/callback?from=ads', scope: 'advertising::campaign_management' })
  t.equal(consent?.sellingPartnerId, undefined)
  t.match(consent?.refreshToken, /^Atzr\|/)
  t.ok((consent?.refreshToken.length ?? 0) >= 350, 'a realistic refresh token')
  t.equal(lwa.callCount(), 0)

  const exchange = codeBody(code, { redirect_uri: 'https://broker.example/callback?from=ads' })
  await expectError(t, post(lwa, codeBody(code)), 400, 'invalid_grant') // a different redirect_uri does not use it up
  const first = parse(await post(lwa, exchange))
  t.equal(first.refresh_token, consent?.refreshToken)
  assertAccessToken(t, first.access_token, 'Atza|')
  await expectError(t, post(lwa, exchange), 400, 'invalid_grant')
  t.equal((await post(lwa, refreshBody({ refresh_token: consent?.refreshToken ?? '' }))).status, 200, 'the new refresh token works')

  // A second consent mints a new code and refresh token.
  await decide(lwa, page.text, 'allow')
  t.not(lwa.lastConsent?.code, code)
  t.not(lwa.lastConsent?.refreshToken, consent?.refreshToken)
})

t.test('Cancel redirects with access_denied and state, and grants nothing', async (t) => {
  const lwa = await startConsent(t)
  for (const url of [adsConsentUrl(lwa), spConsentUrl(lwa)]) {
    const page = await get(url)
    const answer = await decide(lwa, page.text, 'deny')
    t.equal(answer.status, 302)
    const back = location(answer)
    t.equal(back.origin + back.pathname, redirectUri)
    t.equal(back.searchParams.get('error'), 'access_denied')
    t.type(back.searchParams.get('error_description'), 'string')
    t.equal(back.searchParams.get('state'), new URL(url).searchParams.get('state'))
    t.equal(back.searchParams.get('code'), null)
    t.equal(back.searchParams.get('spapi_oauth_code'), null)
  }
  t.equal(lwa.lastConsent, undefined)
})

t.test('SP-API consent: known application, version=beta, selling_partner_id on Allow', async (t) => {
  const lwa = await startConsent(t)
  const unknown = await get(spConsentUrl(lwa, { application_id: 'amzn1.sp.solution.nobody' }))
  t.equal(unknown.status, 400)
  t.match(unknown.text, /unknown application_id/)
  t.equal((await get(spConsentUrl(lwa, { state: '' }))).status, 400)
  t.equal((await get(spConsentUrl(lwa, { redirect_uri: '' }))).status, 400)

  const page = await get(spConsentUrl(lwa, { version: 'beta' }))
  t.equal(page.status, 200)
  t.match(page.text, '<title>Amazon (emulator): authorize</title>')
  t.match(page.text, applicationId)
  t.match(page.text, clientId)
  t.match(page.text, 'id="allow"')
  t.match(page.text, 'id="deny"')
  t.same(formOf(page.text), {
    action: '/apps/authorize/decision',
    fields: { application_id: applicationId, version: 'beta', redirect_uri: redirectUri, state: 'sp-state-1' },
  })

  lwa.nextSellingPartnerId = 'A1SELLER0000042'
  const answer = await decide(lwa, page.text, 'allow')
  t.equal(answer.status, 302)
  const back = location(answer)
  const code = back.searchParams.get('spapi_oauth_code') ?? ''
  t.match(code, /^[A-Za-z0-9]{20,}$/)
  t.equal(back.searchParams.get('state'), 'sp-state-1')
  t.equal(back.searchParams.get('selling_partner_id'), 'A1SELLER0000042')
  t.equal(back.searchParams.get('code'), null)
  t.match(lwa.lastConsent, { kind: 'sp-api', code, sellingPartnerId: 'A1SELLER0000042', state: 'sp-state-1', clientId, applicationId, version: 'beta', redirectUri })

  const first = parse(await post(lwa, codeBody(code)))
  t.equal(first.refresh_token, lwa.lastConsent?.refreshToken)
  await expectError(t, post(lwa, codeBody(code)), 400, 'invalid_grant')

  const published = await get(spConsentUrl(lwa))
  t.notMatch(published.text, 'name="version"', 'no version for a published app')
  await decide(lwa, published.text, 'allow')
  t.equal(lwa.lastConsent?.version, undefined)
  t.equal(lwa.lastConsent?.sellingPartnerId, 'A1SELLER0000042')
})

t.test('consent codes expire after consentCodeTtlMs', async (t) => {
  const lwa = await startConsent(t)
  const page = await get(adsConsentUrl(lwa))
  lwa.consentCodeTtlMs = 0
  const code = location(await decide(lwa, page.text, 'allow')).searchParams.get('code') ?? ''
  await expectError(t, post(lwa, codeBody(code)), 400, 'invalid_grant')
  t.equal((await post(lwa, refreshBody({ refresh_token: lwa.lastConsent?.refreshToken ?? '' }))).status, 400, 'an unexchanged consent grants no refresh token')
})

t.test('a decision form that is not a decision is refused', async (t) => {
  const lwa = await startConsent(t)
  const page = await get(adsConsentUrl(lwa))
  const none = await decide(lwa, page.text, undefined)
  t.equal(none.status, 400)
  t.match(none.headers['content-type'], /^text\/html/)
  const { fields } = formOf(page.text)
  const asJson = await request(`${lwa.url}/ap/oa/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...fields, decision: 'allow' }) })
  t.equal(asJson.statusCode, 400)
  await asJson.body.dump()
  const forged = await request(`${lwa.url}/ap/oa/decision`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, client_id: 'amzn1.application-oa2-client.nobody', decision: 'allow' }).toString(),
  })
  t.equal(forged.statusCode, 400, 'the decision is checked again')
  await forged.body.dump()
  t.equal(lwa.lastConsent, undefined)
  t.equal(lwa.callCount(), 0)
})
