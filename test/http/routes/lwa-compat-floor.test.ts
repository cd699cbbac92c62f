// What POST /auth/o2/token does for SDKs that cache a token for a fixed time whatever
// `expires_in` says (python-amazon-sp-api: 3200 s) and give up after a few seconds (httpx: 5 s):
// a floor on the life left, a refresh started before the floor is reached, and a deadline
// of its own. The clock is the broker's fake one; LWA's tokens live 3600 s.
import t from 'tap'
import { audience, build, type BuildOptions, type Harness, type MintOptions } from '../../helper.js'
import { JwksServer, keysPath } from '../../support/jwks-server.js'
import { formOf, postToken } from '../../support/compat-client.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' }, lifetimeSeconds: 3600 }

const withCompat = (lwaCompat: Record<string, unknown>): BuildOptions['config'] => (c) => ({ ...c, lwaCompat })

async function refreshGrant(h: Harness, jwt: string, fields: Record<string, string> = {}) {
  return postToken(h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: jwt, ...fields }))
}

t.test('the floor: a token answered here always has 3300 s left, refreshed ahead; expires_in is the truth', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const first = (await refreshGrant(h, jwt)).json()
  t.equal(first.expires_in, 3600)

  h.clock.advance(200_000) // 3400 s left: above the floor and its 60 s of headroom
  const kept = (await refreshGrant(h, jwt)).json()
  t.equal(kept.access_token, first.access_token, 'served from the cache')
  t.equal(kept.expires_in, 3400, 'expires_in counts down with the clock')
  t.equal(h.lwa.callCount(), 1)

  h.clock.advance(50_000) // 3350 s left: still served, and a background refresh begins
  const ahead = (await refreshGrant(h, jwt)).json()
  t.equal(ahead.access_token, first.access_token, 'within the headroom: the cached token, without waiting')
  t.equal(ahead.expires_in, 3350)
  await h.services.tokens.settled()
  t.equal(h.lwa.callCount(), 2, 'one refresh, started ahead of the floor')
  const fresh = (await refreshGrant(h, jwt)).json()
  t.not(fresh.access_token, first.access_token, 'the refreshed token is served next')
  t.equal(fresh.expires_in, 3600)

  h.clock.advance(400_000) // 3200 s left, nobody asked meanwhile: below the floor
  const waited = (await refreshGrant(h, jwt)).json()
  t.not(waited.access_token, fresh.access_token, 'a token below the floor is never answered here')
  t.equal(waited.expires_in, 3600)
  t.equal(h.lwa.callCount(), 3)
})

t.test('under the floor, 50 SDK requests at once wait for one LWA call and get one token', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const first = (await refreshGrant(h, jwt)).json()
  h.clock.advance(400_000) // 3200 s left: below the floor, so every one of them waits
  const answers = await Promise.all(Array.from({ length: 50 }, () => refreshGrant(h, jwt)))
  t.same(answers.filter((a) => a.statusCode !== 200).map((a) => a.body), [], 'every one served')
  const tokens = new Set(answers.map((a) => a.json().access_token as string))
  t.equal(tokens.size, 1, 'one token for all')
  t.notOk(tokens.has(first.access_token), 'the new one')
  t.equal(h.lwa.callCount(), 2, 'one LWA call for the fifty')
})

t.test('only the LWA grants have the floor: GET /token and a token exchange get what they ask for', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const first = (await refreshGrant(h, jwt)).json()
  h.clock.advance(1_000_000) // 2600 s left
  const viaGetToken = (await h.getToken('sp-acme-eu', jwt)).json()
  t.equal(viaGetToken.access_token, first.access_token, 'GET /token: min_ttl 60 s, the cached token serves')
  const exchanged = (await postToken(h, formOf({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: jwt,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    resource: 'sp-acme-eu',
  }))).json()
  t.equal(exchanged.access_token, first.access_token, 'RFC 8693: the client reads expires_in, no floor')
  t.equal(exchanged.expires_in, 2600)
  t.equal(h.lwa.callCount(), 1)
  const grant = (await refreshGrant(h, jwt)).json()
  t.not(grant.access_token, first.access_token, 'the refresh_token grant: below the floor, refreshed')
  t.equal(h.lwa.callCount(), 2)
})

t.test('a caller\'s larger min_ttl wins over the floor; the floor can be turned off', async (t) => {
  const h = await build(t, { config: withCompat({ minRemainingSeconds: 0 }) })
  const jwt = await h.jwt(platform)
  const first = (await refreshGrant(h, jwt)).json()
  h.clock.advance(3000_000) // 600 s left
  const kept = (await refreshGrant(h, jwt)).json()
  t.equal(kept.access_token, first.access_token, 'minRemainingSeconds 0: the default min_ttl (60 s) applies')
  t.equal(kept.expires_in, 600)
  await h.services.tokens.settled()
  const asked = (await refreshGrant(h, jwt, { min_ttl: '900' })).json()
  t.not(asked.access_token, first.access_token, 'min_ttl 900 > 600 s left: a fresh token')

  const floored = await build(t, { config: withCompat({ minRemainingSeconds: 1000 }) })
  const fjwt = await floored.jwt(platform)
  const before = (await refreshGrant(floored, fjwt)).json()
  floored.clock.advance(800_000) // 2800 s left: above a floor of 1000
  t.equal((await refreshGrant(floored, fjwt)).json().access_token, before.access_token, 'above the floor: cached')
  const larger = (await refreshGrant(floored, fjwt, { min_ttl: '3000' })).json()
  t.not(larger.access_token, before.access_token, 'min_ttl 3000 over a floor of 1000: the caller\'s wins')
  t.equal(larger.expires_in, 3600)
  t.equal(floored.lwa.callCount(), 2)
})

t.test('a grantless token has the floor too', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  const ask = () => postToken(h, formOf({
    grant_type: 'client_credentials', scope: 'sellingpartnerapi::notifications', client_secret: jwt,
  }))
  const first = await ask()
  t.equal(first.statusCode, 200)
  h.clock.advance(400_000)
  const next = (await ask()).json()
  t.not(next.access_token, first.json().access_token)
  t.equal(next.expires_in, 3600)
})

t.test('the deadline: a slow LWA is temporarily_unavailable in JSON with Retry-After, the refresh goes on', async (t) => {
  const h = await build(t, { config: withCompat({ deadlineMs: 200 }), lwaOptions: { latencyMs: 1500 } })
  const jwt = await h.jwt(platform)
  const res = await refreshGrant(h, jwt)
  t.equal(res.statusCode, 503)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { error: 'temporarily_unavailable', error_description: res.json().error_description })
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After says when to come back')
  t.equal(h.lwa.callCount(), 1, 'LWA was asked, and had not answered')
  const refused = h.logs.find((r) => r.event === 'token.denied' && r.error === 'upstream_unavailable' && r.requestId === res.headers['x-request-id'])
  t.equal(refused.length, 1, 'the caller that got 503 is audited as denied (upstream_unavailable), not as issued')

  await h.services.tokens.settled()
  const later = await refreshGrant(h, jwt)
  t.equal(later.statusCode, 200, 'the refresh the caller gave up on is now the cached token')
  t.equal(h.lwa.callCount(), 1)
  t.equal(h.logs.find((r) => r.event === 'token.issued').length, 1, 'issued once: to the caller that got it')

  const getToken = await build(t, { config: withCompat({ deadlineMs: 200 }), lwaOptions: { latencyMs: 400 } })
  const res2 = await getToken.getToken('sp-acme-eu', await getToken.jwt(platform))
  t.equal(res2.statusCode, 200, 'GET /token keeps tokens.requestDeadlineMs (10 s)')
})

t.test('the deadline covers the caller\'s JWT keys: a slow JWKS is temporarily_unavailable too', async (t) => {
  const keys = await JwksServer.start()
  t.teardown(() => keys.close())
  const h = await build(t, {
    config: (c) => ({
      ...withCompat({ deadlineMs: 300 })!(c),
      issuers: [{ issuer: keys.url, audiences: [audience], algorithms: ['RS256'], jwks: { uri: keys.jwksUri } }],
    }),
  })
  const now = Math.floor(h.clock.now() / 1000)
  const jwt = await keys.sign({ iss: keys.url, aud: [audience], sub: 'system:serviceaccount:platform:all', iat: now, exp: now + 600 })
  keys.fail(keysPath, { kind: 'slow', ms: 1500 })
  const res = await refreshGrant(h, jwt)
  t.equal(res.statusCode, 503, 'answered before the keys came')
  t.equal(res.json().error, 'temporarily_unavailable')
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.equal(h.lwa.callCount(), 0, 'no token was asked for an unverified caller')
  t.equal(h.logs.find((r) => r.event === 'token.denied' && r.error === 'upstream_unavailable').length, 1, 'audited')
  const slowGetToken = await h.getToken('sp-acme-eu', jwt)
  t.equal(slowGetToken.statusCode, 200, 'GET /token waits for the keys: the deadline is the compatible endpoint\'s')
  t.equal((await refreshGrant(h, jwt)).statusCode, 200, 'the keys fetched: the next SDK request is served')
})

t.test('every error body here is JSON in LWA\'s shape, whatever failed', async (t) => {
  const h = await build(t)
  const cases: Array<[string, () => ReturnType<typeof postToken>, number]> = [
    ['a content type the endpoint does not read', () => h.app.inject({
      method: 'POST', url: '/auth/o2/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=refresh_token',
    }), 400],
    ['a body over the limit', () => postToken(h, formOf({ grant_type: 'refresh_token', junk: 'x'.repeat(20_000) })), 400],
    ['no body at all', () => h.app.inject({ method: 'POST', url: '/auth/o2/token' }), 400],
  ]
  for (const [name, send, status] of cases) {
    const res = await send()
    t.equal(res.statusCode, status, name)
    t.match(res.headers['content-type'], /^application\/json/, `${name}: JSON`)
    t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], `${name}: LWA's error fields`)
  }
})

t.test('what the floor costs: an hour of steady SDK traffic, in LWA calls, against GET /token\'s', async (t) => {
  const hour = async (ask: (h: Harness, jwt: string) => Promise<unknown>): Promise<number> => {
    const h = await build(t, { config: (c) => ({ ...c, tokens: { ...(c.tokens as object), backgroundRefreshSeconds: 0 } }) })
    const jwt = await h.jwt({ ...platform, lifetimeSeconds: 7200 })
    for (let second = 0; second < 3600; second += 10) {
      await ask(h, jwt)
      await h.services.tokens.settled()
      h.clock.advance(10_000)
    }
    return h.lwa.callCount()
  }
  const compat = await hour((h, jwt) => refreshGrant(h, jwt))
  const plain = await hour((h, jwt) => h.getToken('sp-acme-eu', jwt))
  // A refresh each time a token's life left falls under 3300 + 60 s: every 240 s, from the first.
  t.equal(compat, 15, 'the compatible endpoint: 15 LWA calls per hour per credential')
  t.ok(plain >= 2 && plain <= 3, `GET /token: refresh-ahead at half the lifetime, ${plain} calls`)
})

t.test('tokens that live shorter than the floor: invalid_request after one LWA call, the lifetime in the log', async (t) => {
  const h = await build(t, { lwaOptions: { expiresInSeconds: 1800 } })
  const jwt = await h.jwt(platform)
  for (const attempt of ['first', 'second']) {
    const res = await refreshGrant(h, jwt)
    t.equal(res.statusCode, 400, attempt)
    t.equal(res.json().error, 'invalid_request', attempt)
  }
  t.equal(h.lwa.callCount(), 1, 'the second ask knows the lifetime: no LWA call per request')
  t.ok(h.logs.find((r) => /tokens of 1800 s/.test(JSON.stringify(r))).length > 0, 'the log line names the lifetime')
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 200, 'GET /token serves the same token')
})
