import { utimesSync } from 'node:fs'
import t from 'tap'
import { build, fixtures, type Harness, type MintOptions } from '../../helper.js'
import type { Fault } from '../../support/lwa-emulator.js'

/** Callers whose policy rules allow them ads-* and everything, respectively. */
const adsReporter = {}
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }

async function tokenFor(h: Harness, credential: string, caller: MintOptions = platform, query = '') {
  return h.getToken(credential, await h.jwt(caller), query)
}

/** Rewrites the secrets file and moves its mtime so the file store re-reads it. */
function rewriteSecrets(h: Harness, change: (s: Record<string, Record<string, unknown>>) => void, base: Record<string, Record<string, unknown>>): void {
  change(base)
  h.writeSecrets(base)
  const future = new Date(Date.now() + 5000)
  utimesSync(h.secretsPath, future, future)
}

t.test('a caller with a valid JWT gets an Ads token with the Ads headers', async (t) => {
  const h = await build(t)
  const res = await h.getToken('ads-us', await h.jwt(adsReporter))
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body.access_token, /^Atza\|/)
  t.ok(body.access_token.length >= 350, 'a realistic LWA token')
  t.same(h.lwa.issued(body.access_token), { clientId: fixtures.adsClient.clientId, grantType: 'refresh_token' }, 'minted by LWA for this app')
  t.equal(body.token_type, 'bearer')
  t.equal(body.expires_in, 3600)
  t.equal(body.expires_at, new Date(h.clock.now() + 3600_000).toISOString())
  t.same(body.headers, {
    Authorization: `Bearer ${body.access_token}`,
    'Amazon-Advertising-API-ClientId': fixtures.adsClient.clientId,
    'Amazon-Advertising-API-Scope': '2502259796',
  })
  t.match(body, { credential: 'ads-us', api: 'ads', region: 'na' })
  t.equal(res.headers['cache-control'], 'no-store')
  t.ok(res.headers['x-request-id'])
  t.equal(h.lwa.callCount({ grantType: 'refresh_token' }), 1)
})

t.test('each API gets the headers it wants, through the grant it needs', async (t) => {
  const h = await build(t)
  const cases = [
    { credential: 'sp-acme-eu', grant: 'refresh_token', clientId: fixtures.spClient.clientId, headers: (tok: string) => ({ 'x-amz-access-token': tok }), prefix: /^Atza\|/ },
    { credential: 'sp-notifications', grant: 'client_credentials', clientId: fixtures.spClient.clientId, headers: (tok: string) => ({ 'x-amz-access-token': tok }), prefix: /^Atc\|/ },
    { credential: 'appstore-main', grant: 'client_credentials', clientId: fixtures.appstoreClient.clientId, headers: (tok: string) => ({ Authorization: `Bearer ${tok}` }), prefix: /^Atc\|/ },
  ]
  for (const c of cases) {
    const res = await tokenFor(h, c.credential)
    t.equal(res.statusCode, 200, c.credential)
    const body = res.json()
    t.match(body.access_token, c.prefix, `${c.credential}: token shape`)
    t.same(body.headers, c.headers(body.access_token), `${c.credential}: headers`)
    t.match(h.lwa.issued(body.access_token), { clientId: c.clientId, grantType: c.grant }, `${c.credential}: grant`)
  }
  t.match(h.lwa.issued((await tokenFor(h, 'sp-notifications')).json().access_token), { scope: 'sellingpartnerapi::notifications' })
})

t.test('each region goes to its own endpoint', async (t) => {
  const { LwaEmulator } = await import('../../support/lwa-emulator.js')
  const { seedEmulator } = await import('../../helper.js')
  const eu = await LwaEmulator.start()
  t.teardown(() => eu.close())
  seedEmulator(eu)
  const h = await build(t, { config: (c) => ({ ...c, lwa: { endpoints: { na: (c.lwa as { endpoints: { na: string } }).endpoints.na, eu: eu.tokenUrl } } }) })
  t.equal((await tokenFor(h, 'sp-acme-eu')).statusCode, 200)
  t.equal((await tokenFor(h, 'ads-us')).statusCode, 200)
  t.equal(eu.callCount(), 1, 'the eu credential went to the eu endpoint')
  t.equal(h.lwa.callCount(), 1, 'the na credential went to the na endpoint')
})

t.test('200 concurrent GET /token on a cold cache make exactly one LWA call', async (t) => {
  const h = await build(t, { lwaOptions: { latencyMs: 50 } })
  const jwt = await h.jwt(adsReporter)
  const responses = await Promise.all(Array.from({ length: 200 }, () => h.getToken('ads-us', jwt)))
  t.ok(responses.every((r) => r.statusCode === 200), 'all 200')
  t.equal(new Set(responses.map((r) => r.json().access_token)).size, 1, 'all got the same token')
  t.equal(h.lwa.callCount(), 1)
})

t.test('refresh-ahead: after half the lifetime one background refresh, no caller waits', async (t) => {
  const h = await build(t)
  const jwt = () => h.jwt(adsReporter)
  const first = (await h.getToken('ads-us', await jwt())).json().access_token
  h.clock.advance(1799_000)
  t.equal((await h.getToken('ads-us', await jwt())).json().access_token, first, 'before half-life: cached, no call')
  t.equal(h.lwa.callCount(), 1)

  h.clock.advance(2_000)
  h.lwa.latencyMs = 300 // the refresh is slow; callers must not notice
  const during = await Promise.all(Array.from({ length: 20 }, async () => (await h.getToken('ads-us', await jwt())).json()))
  t.ok(during.every((b) => b.access_token === first), 'callers keep getting the current token during the refresh')
  t.equal(during[0].expires_in, 3600 - 1801, 'expires_in counts down')
  await h.services.tokens.settled()
  t.equal(h.lwa.callCount(), 2, 'exactly one background refresh')
  const after = (await h.getToken('ads-us', await jwt())).json()
  t.not(after.access_token, first, 'then the new token is served')
  t.equal(after.expires_in, 3600)
})

t.test('min_ttl larger than what is left triggers a refresh, never a too-short token', async (t) => {
  const h = await build(t)
  const first = (await tokenFor(h, 'ads-us', adsReporter)).json().access_token
  h.clock.advance(3600_000 - 120_000) // 120 s left
  const ok = (await tokenFor(h, 'ads-us', adsReporter, '&min_ttl=100')).json()
  t.equal(ok.access_token, first, 'min_ttl 100 is satisfied by 120 s')
  t.equal(ok.expires_in, 120)
  const longer = (await tokenFor(h, 'ads-us', adsReporter, '&min_ttl=600')).json()
  t.not(longer.access_token, first, 'min_ttl 600: a fresh token')
  t.ok(longer.expires_in >= 600)
  const dflt = (await tokenFor(h, 'ads-us', adsReporter)).json()
  t.ok(dflt.expires_in >= 60, 'default min_ttl is 60')
})

t.test('the default min_ttl of 60 s is honoured without a query parameter', async (t) => {
  const h = await build(t)
  const first = (await tokenFor(h, 'ads-us', adsReporter)).json().access_token
  h.clock.advance(3600_000 - 59_000)
  const res = (await tokenFor(h, 'ads-us', adsReporter)).json()
  t.not(res.access_token, first)
  t.equal(h.lwa.callCount(), 2)
})

/** Every LWA answer the broker can get, and what the caller must see. */
const lwaFaults: Array<[string, Fault, number, string, boolean]> = [
  ['invalid_grant', { kind: 'status', status: 400, error: 'invalid_grant' }, 502, 'credential_rejected', false],
  ['invalid_client', { kind: 'status', status: 401, error: 'invalid_client' }, 502, 'credential_rejected', false],
  ['unauthorized_client', { kind: 'status', status: 400, error: 'unauthorized_client' }, 502, 'credential_rejected', false],
  ['invalid_scope', { kind: 'status', status: 400, error: 'invalid_scope' }, 502, 'credential_rejected', false],
  ['invalid_request', { kind: 'status', status: 400, error: 'invalid_request' }, 502, 'credential_rejected', false],
  ['unsupported_grant_type', { kind: 'status', status: 400, error: 'unsupported_grant_type' }, 502, 'credential_rejected', false],
  ['server_error', { kind: 'status', status: 500, error: 'server_error' }, 503, 'upstream_unavailable', true],
  ['temporarily_unavailable', { kind: 'status', status: 503, error: 'temporarily_unavailable', retryAfter: '30' }, 503, 'upstream_unavailable', true],
  ['429 throttled', { kind: 'status', status: 429, retryAfter: '20' }, 503, 'upstream_unavailable', true],
  ['502 HTML page', { kind: 'status', status: 502 }, 503, 'upstream_unavailable', true],
  ['malformed JSON', { kind: 'malformed' }, 503, 'upstream_unavailable', true],
  ['no access_token', { kind: 'no_access_token' }, 503, 'upstream_unavailable', true],
  ['expires_in 0', { kind: 'bad_expires_in' }, 503, 'upstream_unavailable', true],
  ['connection reset', { kind: 'reset' }, 503, 'upstream_unavailable', true],
  ['slower than the timeout', { kind: 'slow', ms: 3000 }, 503, 'upstream_unavailable', true],
]

t.test('each LWA failure becomes the documented broker error, never a 500', async (t) => {
  for (const [name, fault, status, code, retryAfter] of lwaFaults) {
    t.test(name, async (t) => {
      const h = await build(t, { config: (c) => ({ ...c, lwa: { ...(c.lwa as object), timeoutMs: 500 } }) })
      h.lwa.failNext(fault, 3) // every attempt of the refresh fails
      const res = await tokenFor(h, 'ads-us', adsReporter)
      t.equal(res.statusCode, status)
      const body = res.json()
      t.equal(body.error, code)
      t.match(body.message, /ads-us/, 'names the credential')
      t.equal(body.request_id, res.headers['x-request-id'])
      t.notMatch(res.body, new RegExp(fixtures.adsClient.clientSecret.replace(/[.|]/g, '\\$&')), 'no secret in the body')
      t.notMatch(res.body, /Atz[ra]\|/, 'no token in the body')
      if (retryAfter) t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After is set')
      else t.equal(res.headers['retry-after'], undefined)
    })
  }
  t.end()
})

t.test('a transient LWA failure is retried within the request: the caller never sees it', async (t) => {
  for (const fault of [{ kind: 'status', status: 500, error: 'server_error' }, { kind: 'reset' }, { kind: 'malformed' }, { kind: 'status', status: 502 }] as Fault[]) {
    const h = await build(t)
    h.lwa.failNext(fault, 2)
    const res = await tokenFor(h, 'ads-us', adsReporter)
    t.equal(res.statusCode, 200, fault.kind)
    t.equal(h.lwa.callCount(), 3, `${fault.kind}: two failed attempts, then success`)
  }
})

t.test('terminal LWA errors are not retried within the request', async (t) => {
  const h = await build(t)
  h.lwa.failNext({ kind: 'status', status: 400, error: 'invalid_scope' }, 3)
  t.equal((await tokenFor(h, 'sp-notifications')).statusCode, 502)
  t.equal(h.lwa.callCount(), 1)
})

t.test('Retry-After from LWA is passed on and failures are not retried inside it', async (t) => {
  const h = await build(t)
  h.lwa.failNext({ kind: 'status', status: 429, retryAfter: '20' })
  const res = await tokenFor(h, 'ads-us', adsReporter)
  t.equal(res.headers['retry-after'], '20')
  const again = await tokenFor(h, 'ads-us', adsReporter)
  t.equal(again.statusCode, 503)
  t.equal(h.lwa.callCount(), 1, 'the second caller did not reach LWA')
  h.clock.advance(20_000)
  t.equal((await tokenFor(h, 'ads-us', adsReporter)).statusCode, 200, 'recovers after the wait')
})

t.test('a terminal LWA error is not hammered: the next callers get 502 at once', async (t) => {
  const h = await build(t)
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  for (let i = 0; i < 10; i++) t.equal((await tokenFor(h, 'ads-us', adsReporter)).json().error, 'credential_rejected')
  t.equal(h.lwa.callCount(), 1)
})

t.test('a misconfigured secret answers 502 credential_misconfigured naming the field, not the secret', async (t) => {
  const h = await build(t)
  const { baseSecrets } = await import('../../helper.js')
  rewriteSecrets(h, (s) => { delete s['lwa/ads-us']!.client_secret }, baseSecrets() as Record<string, Record<string, unknown>>)
  const res = await tokenFor(h, 'ads-us', adsReporter)
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'credential_misconfigured')
  t.match(res.json().message, /client_secret/)
  t.notMatch(res.json().message, /lwa\/ads-us/, 'the secret id stays in the log')
  t.ok(h.logs.find((r) => r.secretId === 'lwa/ads-us' && r.secretField === 'client_secret').length > 0, 'the log names secret id and field')
  t.equal(h.lwa.callCount(), 0)
})

t.test('a secret that does not exist answers 502 credential_misconfigured', async (t) => {
  const h = await build(t)
  const { baseSecrets } = await import('../../helper.js')
  rewriteSecrets(h, (s) => { delete s['lwa/sellers/acme'] }, baseSecrets() as Record<string, Record<string, unknown>>)
  const res = await tokenFor(h, 'sp-acme-eu')
  t.equal(res.json().error, 'credential_misconfigured')
})

t.test('an unreadable secret store answers 503 upstream_unavailable', async (t) => {
  const h = await build(t)
  const { rmSync } = await import('node:fs')
  rmSync(h.secretsPath)
  const res = await tokenFor(h, 'ads-us', adsReporter)
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'upstream_unavailable')
  t.ok(res.headers['retry-after'])
})

t.test('a rotated secret in the file is picked up without a restart', async (t) => {
  const h = await build(t)
  const { baseSecrets } = await import('../../helper.js')
  t.equal((await tokenFor(h, 'ads-us', adsReporter)).statusCode, 200)
  h.lwa.setClientSecrets(fixtures.adsClient.clientId, ['amzn1.oa2-cs.v1.ads-secret-0002'])
  h.logs.secrets.add('amzn1.oa2-cs.v1.ads-secret-0002')
  rewriteSecrets(h, (s) => { s['lwa/ads-us']!.client_secret = 'amzn1.oa2-cs.v1.ads-secret-0002' }, baseSecrets() as Record<string, Record<string, unknown>>)
  h.clock.advance(3600_000)
  t.equal((await tokenFor(h, 'ads-us', adsReporter)).statusCode, 200)
})

t.test('malformed queries answer 400 invalid_request', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const bad = [
    '/token',
    '/token?credential=',
    '/token?credential=../etc/passwd',
    '/token?credential=ads-us&min_ttl=abc',
    '/token?credential=ads-us&min_ttl=-1',
    '/token?credential=ads-us&min_ttl=99999',
    '/token?credential=ads-us&extra=1',
    `/token?credential=${'a'.repeat(200)}`,
  ]
  for (const url of bad) {
    const res = await h.app.inject({ url, headers: { authorization: `Bearer ${jwt}` } })
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().error, 'invalid_request', url)
  }
  t.equal(h.lwa.callCount(), 0)
})

t.test('policy and existence: 403 for a policy miss, 404 only for names the caller may use', async (t) => {
  const h = await build(t)
  const forbidden = await tokenFor(h, 'sp-acme-eu', adsReporter)
  t.equal(forbidden.statusCode, 403)
  t.same(forbidden.json().error, 'forbidden')
  t.equal(forbidden.json().message, 'caller system:serviceaccount:ads:reporter may not use credential sp-acme-eu')
  t.equal((await tokenFor(h, 'sp-nope', adsReporter)).statusCode, 403, 'a name outside the caller\'s globs is 403 whether or not it exists')
  const unknown = await tokenFor(h, 'ads-nope', adsReporter)
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'unknown_credential')
  t.equal((await tokenFor(h, 'constructor', platform)).statusCode, 404, 'prototype names are not credentials')
  t.equal(h.lwa.callCount(), 0)
})

t.test('unknown routes answer 404 not_found in the error shape', async (t) => {
  const h = await build(t)
  for (const [method, url] of [['GET', '/nope'], ['POST', '/token'], ['DELETE', '/token?credential=ads-us']] as const) {
    const res = await h.app.inject({ method, url })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().error, 'not_found')
  }
})

t.test('a caller-supplied request id is echoed only when it is plain', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(adsReporter)
  const plain = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}`, 'x-request-id': 'trace-123' } })
  t.equal(plain.headers['x-request-id'], 'trace-123')
  const hostile = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}`, 'x-request-id': 'a\nfake log line' } })
  t.not(hostile.headers['x-request-id'], 'a\nfake log line')
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('audit: one event per issuance and per denial, with a fingerprint and never the token', async (t) => {
  const h = await build(t)
  const ok = await tokenFor(h, 'ads-us', adsReporter)
  await tokenFor(h, 'sp-acme-eu', adsReporter)
  await h.getToken('ads-us', 'not-a-jwt')
  const audit = h.logs.find((r) => r.log === 'audit')
  t.equal(audit.length, 3)
  const { createHash } = await import('node:crypto')
  const fp = 'sha256:' + createHash('sha256').update(ok.json().access_token).digest('hex').slice(0, 16)
  t.match(audit[0], {
    event: 'token.issued', outcome: 'allowed', credential: 'ads-us', tokenFingerprint: fp,
    callerSubject: 'system:serviceaccount:ads:reporter', requestId: ok.headers['x-request-id'],
    expiresAt: ok.json().expires_at,
  })
  t.match(audit[1], { event: 'token.denied', outcome: 'denied', error: 'forbidden', credential: 'sp-acme-eu' })
  t.match(audit[2], { event: 'token.denied', error: 'unauthenticated', reason: 'malformed_token', callerSubject: undefined })
  t.notMatch(JSON.stringify(audit), /Atza\|/)
})

t.test('a URL Fastify cannot decode answers 400 invalid_request in the error shape', async (t) => {
  const h = await build(t)
  const res = await h.app.inject({ url: '/tok%en' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
  t.equal(res.json().request_id, res.headers['x-request-id'])
})

t.test('a failing background refresh is logged and the caller still gets the cached token', async (t) => {
  const h = await build(t)
  const first = (await tokenFor(h, 'ads-us', adsReporter)).json().access_token
  h.clock.advance(1801_000)
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  t.equal((await tokenFor(h, 'ads-us', adsReporter)).json().access_token, first)
  await h.services.tokens.settled()
  const warned = h.logs.find((r) => r.msg === 'background refresh failed; serving the cached token while it lasts')
  t.equal(warned.length, 1)
  t.match(warned[0], { credential: 'ads-us', error: 'upstream_unavailable', lwaError: 'temporarily_unavailable', lwaStatus: 503 })
})
