import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import t from 'tap'
import { Agent } from 'undici'
import { LwaClient, LwaError, tokenUrlFor, type LwaClientAuth, type LwaGrant, type LwaToken } from '../../src/lwa/index.js'
import { FakeClock } from '../support/fake-clock.js'
import { LwaEmulator, type Fault } from '../support/lwa-emulator.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const auth: LwaClientAuth = { clientId: 'amzn1.application-oa2-client.test0001', clientSecret: 'amzn1.oa2-cs.v1.very-secret-0001' }
const refreshToken = 'Atzr|IwEBIrefresh-token-0001'
const refreshGrant: LwaGrant = { grantType: 'refresh_token', refreshToken }
const grantlessScope = 'sellingpartnerapi::notifications'
const grantlessGrant: LwaGrant = { grantType: 'client_credentials', scope: grantlessScope }
const formContentType = 'application/x-www-form-urlencoded;charset=UTF-8'
/** A whole second, so an HTTP date (second resolution) lands exactly on it. */
const startMs = Date.UTC(2030, 0, 15, 12, 0, 0)

interface Setup {
  lwa: LwaEmulator
  clock: FakeClock
  client: LwaClient
  request(grant?: LwaGrant, as?: LwaClientAuth): Promise<LwaToken>
  /** Next request answers with `fault`; returns the refresh_token request. */
  faulted(fault: Fault): Promise<LwaToken>
}

/** An emulator that knows our app and refresh token, and a client with its own keep-alive pool. */
async function setup(t: Test, timeoutMs = 2000): Promise<Setup> {
  const lwa = await LwaEmulator.start()
  lwa.addClient({ clientId: auth.clientId, clientSecret: auth.clientSecret })
  lwa.addRefreshToken({ refreshToken, clientId: auth.clientId })
  const dispatcher = new Agent()
  t.teardown(async () => {
    await lwa.close()
    await dispatcher.close()
  })
  const clock = new FakeClock(startMs)
  const client = new LwaClient({ timeoutMs, clock, dispatcher })
  const request = (grant = refreshGrant, as = auth): Promise<LwaToken> => client.requestToken(lwa.tokenUrl, as, grant)
  return {
    lwa, clock, client, request,
    faulted: (fault) => {
      lwa.failNext(fault)
      return request()
    },
  }
}

/** The LwaError `promise` rejects with; a success or any other error fails the test. */
async function lwaError(promise: Promise<unknown>): Promise<LwaError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof LwaError) return err
    throw err
  }
  throw new Error('expected an LwaError, but the request succeeded')
}

function assertSentAsDocumented(t: Test, lwa: LwaEmulator, grantType: string): void {
  t.equal(lwa.calls.length, 1, 'one call to LWA')
  t.match(lwa.calls[0], { contentType: formContentType, grantType, clientId: auth.clientId })
}

t.test('refresh_token grant: a form-encoded POST, and the token exactly as LWA returned it', async (t) => {
  const s = await setup(t)
  const token = await s.request()
  assertSentAsDocumented(t, s.lwa, 'refresh_token')
  t.match(token.accessToken, /^Atza\|/)
  t.same(s.lwa.issued(token.accessToken), { clientId: auth.clientId, grantType: 'refresh_token' }, 'the very token LWA minted, untruncated')
  t.equal(token.tokenType, 'bearer')
  t.equal(token.expiresInSeconds, 3600)
  t.equal(token.refreshToken, refreshToken)
  t.equal(token.scope, undefined)
})

t.test('refresh_token grant: a rotated refresh token is handed back', async (t) => {
  const s = await setup(t)
  s.lwa.addRefreshToken({ refreshToken, clientId: auth.clientId, rotateTo: 'Atzr|IwEBIrotated-0002' })
  t.equal((await s.request()).refreshToken, 'Atzr|IwEBIrotated-0002')
})

t.test('client_credentials grant: the scope is sent and returned, no refresh token', async (t) => {
  const s = await setup(t)
  const token = await s.request(grantlessGrant)
  assertSentAsDocumented(t, s.lwa, 'client_credentials')
  t.match(token.accessToken, /^Atc\|/)
  t.same(s.lwa.issued(token.accessToken), { clientId: auth.clientId, grantType: 'client_credentials', scope: grantlessScope })
  t.equal(token.scope, grantlessScope)
  t.equal(token.refreshToken, undefined)
  t.equal(token.expiresInSeconds, 3600)
})

t.test('authorization_code grant: the code is exchanged once for a refresh token', async (t) => {
  const s = await setup(t)
  const redirectUri = 'https://broker.example/callback'
  s.lwa.addAuthorizationCode({ code: 'ANdNAVhyhqirUelHGEHA', clientId: auth.clientId, redirectUri, refreshToken: 'Atzr|IwEBIfrom-code' })
  const grant: LwaGrant = { grantType: 'authorization_code', code: 'ANdNAVhyhqirUelHGEHA', redirectUri }
  const token = await s.request(grant)
  assertSentAsDocumented(t, s.lwa, 'authorization_code')
  t.match(token.accessToken, /^Atza\|/)
  t.equal(token.refreshToken, 'Atzr|IwEBIfrom-code')
  t.equal(token.expiresInSeconds, 3600)
  t.match(await lwaError(s.request(grant)), { code: 'invalid_grant', status: 400, retryable: false }, 'a code works once')
})

t.test('expires_in is used as LWA gives it, never assumed to be 3600', async (t) => {
  const s = await setup(t)
  for (const seconds of [900, 7200, 1]) {
    s.lwa.expiresInSeconds = seconds
    t.equal((await s.request()).expiresInSeconds, seconds)
  }
})

const fault = (f: Fault) => (s: Setup): Promise<LwaToken> => s.faulted(f)
const lwaStatus = (status: number, error?: string): Fault => (error === undefined ? { kind: 'status', status } : { kind: 'status', status, error })

// [case, how the request fails, code, HTTP status, retryable] — retryable per LWA.md's table.
const errorAnswers: Array<[string, (s: Setup) => Promise<unknown>, string, number, boolean]> = [
  ['revoked refresh token', (s) => { s.lwa.revokeRefreshToken(refreshToken); return s.request() }, 'invalid_grant', 400, false],
  ['unknown refresh token', (s) => s.request({ grantType: 'refresh_token', refreshToken: 'Atzr|never-granted' }), 'invalid_grant', 400, false],
  ['wrong client secret', (s) => s.request(refreshGrant, { ...auth, clientSecret: 'amzn1.oa2-cs.v1.wrong' }), 'invalid_client', 401, false],
  ['client without grantless scopes', (s) => {
    s.lwa.addClient({ clientId: auth.clientId, clientSecret: auth.clientSecret, scopes: [] })
    return s.request(grantlessGrant)
  }, 'unauthorized_client', 400, false],
  ['scope the client may not use', (s) => s.request({ grantType: 'client_credentials', scope: 'advertising::campaign_management' }), 'invalid_scope', 400, false],
  ['invalid_request', fault(lwaStatus(400, 'invalid_request')), 'invalid_request', 400, false],
  ['unsupported_grant_type', fault(lwaStatus(400, 'unsupported_grant_type')), 'unsupported_grant_type', 400, false],
  ['server_error', fault(lwaStatus(500, 'server_error')), 'server_error', 500, true],
  ['temporarily_unavailable', fault(lwaStatus(503, 'temporarily_unavailable')), 'temporarily_unavailable', 503, true],
  ['429 without a body code', fault(lwaStatus(429)), 'throttled', 429, true],
  ['500 HTML page', fault(lwaStatus(500)), 'http_500', 500, true],
  ['502 HTML page from a gateway', fault(lwaStatus(502)), 'http_502', 502, true],
  ['504 HTML page from a gateway', fault(lwaStatus(504)), 'http_504', 504, true],
]

t.test('each LWA error answer becomes an LwaError with its code, status and retryability', async (t) => {
  for (const [name, fail, code, status, retryable] of errorAnswers) {
    t.test(name, async (t) => {
      const s = await setup(t)
      const err = await lwaError(fail(s))
      t.match(err, { code, status, retryable })
      t.equal(s.lwa.calls.length, 1, 'no retry inside the client')
    })
  }
})

// [case, fault] — a 200 that is not a token is LWA misbehaving, so it is retryable.
const malformedAnswers: Array<[string, Fault]> = [
  ['truncated JSON', { kind: 'malformed' }],
  ['no access_token', { kind: 'no_access_token' }],
  ['expires_in 0', { kind: 'bad_expires_in' }],
]

t.test('a 200 that is not a usable token is malformed_response, retryable', async (t) => {
  for (const [name, f] of malformedAnswers) {
    t.test(name, async (t) => {
      const s = await setup(t)
      t.match(await lwaError(s.faulted(f)), { code: 'malformed_response', status: 200, retryable: true })
    })
  }
})

// [Retry-After header, expected retryAfterMs] — dates are relative to the injected clock.
const retryAfters: Array<[string, number | undefined]> = [
  ['5', 5000],
  ['0', 0],
  [new Date(startMs + 30_000).toUTCString(), 30_000],
  [new Date(startMs - 60_000).toUTCString(), 0],
  ['soon', undefined],
  ['-5', undefined],
  ['1.5', undefined],
]

t.test('Retry-After is read as delta seconds or an HTTP date; garbage is ignored', async (t) => {
  for (const [header, ms] of retryAfters) {
    t.test(`Retry-After: ${header}`, async (t) => {
      const s = await setup(t)
      const err = await lwaError(s.faulted({ kind: 'status', status: 503, error: 'temporarily_unavailable', retryAfter: header }))
      t.equal(err.code, 'temporarily_unavailable')
      t.equal(err.retryAfterMs, ms)
    })
  }
})

t.test('a connection reset is a retryable network error', async (t) => {
  const s = await setup(t)
  t.match(await lwaError(s.faulted({ kind: 'reset' })), { code: 'network', retryable: true, status: undefined })
})

t.test('an answer slower than timeoutMs is a retryable timeout, and the caller is not kept waiting', async (t) => {
  const s = await setup(t, 300)
  const started = performance.now()
  const err = await lwaError(s.faulted({ kind: 'slow', ms: 2000 }))
  const waitedMs = performance.now() - started
  t.match(err, { code: 'timeout', retryable: true })
  t.ok(waitedMs >= 250 && waitedMs < 1500, `gave up after ${Math.round(waitedMs)} ms`)
})

t.test('an endpoint where nothing listens is a retryable network error', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const client = new LwaClient({ timeoutMs: 2000, clock: new FakeClock() })
  const err = await lwaError(client.requestToken(`http://127.0.0.1:${port}/auth/o2/token`, auth, refreshGrant))
  t.match(err, { code: 'network', retryable: true })
})

// Each failure the broker may log; none may carry the client secret or the refresh token.
const leakProbes: Array<[string, (s: Setup) => Promise<unknown>]> = [
  ['invalid_client', (s) => s.request(refreshGrant, { ...auth, clientSecret: `${auth.clientSecret}-old` })],
  ['invalid_grant', (s) => { s.lwa.revokeRefreshToken(refreshToken); return s.request() }],
  ['invalid_request', fault(lwaStatus(400, 'invalid_request'))],
  ['HTML 502', fault(lwaStatus(502))],
  ['malformed 200', fault({ kind: 'malformed' })],
  ['connection reset', fault({ kind: 'reset' })],
]

t.test('an LwaError never carries the client secret or the refresh token', async (t) => {
  for (const [name, fail] of leakProbes) {
    t.test(name, async (t) => {
      const s = await setup(t)
      const err = await lwaError(fail(s))
      const seen = [err.message, err.description ?? '', err.stack ?? '', inspect(err, { depth: 8 })]
      const secrets = { 'client secret': auth.clientSecret, 'refresh token': refreshToken }
      for (const [what, secret] of Object.entries(secrets)) t.notOk(seen.some((text) => text.includes(secret)), `no ${what}`)
    })
  }
})

t.test('tokenUrlFor: the regional LWA endpoints by default, an override wins', async (t) => {
  const documented = {
    na: 'https://api.amazon.com/auth/o2/token',
    eu: 'https://api.amazon.co.uk/auth/o2/token',
    fe: 'https://api.amazon.co.jp/auth/o2/token',
  } as const
  for (const region of ['na', 'eu', 'fe'] as const) t.equal(tokenUrlFor(region, {}), documented[region], `${region} default`)
  const overrides = { eu: 'http://127.0.0.1:4000/auth/o2/token' }
  t.equal(tokenUrlFor('eu', overrides), overrides.eu)
  t.equal(tokenUrlFor('na', overrides), documented.na, 'other regions keep their default')
})
