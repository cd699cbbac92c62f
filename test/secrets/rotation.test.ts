import t from 'tap'
import type { CachingSecretStore } from '../../src/secrets/index.js'
import { baseSecrets, build, fixtures, type Harness, type MintOptions } from '../helper.js'

// Long-lived caller JWTs: the tests move the clock by hours while requests are in flight.
const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' }, lifetimeSeconds: 7 * 24 * 3600 }
const hourMs = 3600_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `concurrency` callers that request tokens back to back while `during` changes the
 * world, and reports every non-200 answer.
 */
async function underLoad(h: Harness, credentials: string[], during: () => Promise<void>, concurrency = 50) {
  let stop = false
  let served = 0
  const failures: string[] = []
  const worker = async (i: number) => {
    const credential = credentials[i % credentials.length] as string
    while (!stop) {
      const res = await h.getToken(credential, await h.jwt(platform))
      if (res.statusCode === 200) served++
      else failures.push(`${credential}: ${res.statusCode} ${res.json().error}`)
    }
  }
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i))
  // Start the changes only once every credential is being served, and with no refresh in
  // flight: the fake clock jumps an hour at a time, which no real refresh would straddle.
  while (served < concurrency) await sleep(5)
  await h.services.tokens.settled()
  await during()
  await sleep(30)
  stop = true
  await Promise.all(workers)
  return { served, failures }
}

/** Expire every cached token and let the callers drive the refreshes. */
async function expireAndWait(h: Harness): Promise<void> {
  await h.services.tokens.settled()
  h.clock.advance(hourMs)
  await sleep(150)
  await h.services.tokens.settled()
}

const store = (h: Harness) => h.secretStore as CachingSecretStore
const versionInUse = (h: Harness, secretId: string) => store(h).status().find((s) => s.secretId === secretId)?.versionId

t.test('the real SDK client reads app and grant secrets through the emulator', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  for (const credential of ['ads-us', 'sp-acme-eu', 'sp-notifications', 'appstore-main']) {
    const res = await h.getToken(credential, await h.jwt(platform))
    t.equal(res.statusCode, 200, credential)
  }
  t.equal(h.sm?.callCount({ operation: 'GetSecretValue' }), 4, 'each of the four secrets read once')
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
})

t.test('bad secrets give errors naming the field, never the value or the secret id', async (t) => {
  const cases: Array<[string, (s: Record<string, unknown>) => void, string, RegExp]> = [
    ['missing secret', (s) => { delete s['lwa/ads-us'] }, 'ads-us', /its secret does not exist/],
    ['secret lacks refresh_token', (s) => { s['lwa/sellers/acme'] = { note: 'no token here' } }, 'sp-acme-eu', /lacks the field "refresh_token"/],
    ['app secret lacks client_id', (s) => { s['lwa/apps/sp'] = { client_secret: fixtures.spClient.clientSecret } }, 'sp-notifications', /lacks the field "client_id"/],
  ]
  for (const [name, change, credential, message] of cases) {
    t.test(name, async (t) => {
      const h = await build(t, { secretsBackend: 'aws', secrets: (s) => { change(s); return s } })
      const res = await h.getToken(credential, await h.jwt(platform))
      t.equal(res.statusCode, 502)
      t.equal(res.json().error, 'credential_misconfigured')
      t.match(res.json().message, message)
      t.notMatch(res.body, /lwa\//, 'no secret id or ARN reaches the caller')
      t.notMatch(res.body, /arn:aws/)
    })
  }
  t.test('a secret that is not JSON', async (t) => {
    const h = await build(t, { secretsBackend: 'aws' })
    h.sm?.putSecret('lwa/ads-us', 'this is not json')
    const res = await h.getToken('ads-us', await h.jwt(platform))
    t.equal(res.json().error, 'credential_misconfigured')
    t.match(res.json().message, /not a JSON object/)
    t.notMatch(res.body, /this is not json/)
  })
  t.end()
})

t.test('rotation under load: a new client secret written as AWSCURRENT, LWA rejects the old one', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const newSecret = 'amzn1.oa2-cs.v1.sp-secret-0002'
  h.logs.secrets.add(newSecret)
  const { served, failures } = await underLoad(h, ['sp-acme-eu', 'sp-notifications'], async () => {
    h.sm?.putSecret('lwa/apps/sp', { client_id: fixtures.spClient.clientId, client_secret: newSecret })
    h.lwa.setClientSecrets(fixtures.spClient.clientId, [newSecret])
    await expireAndWait(h)
    await expireAndWait(h)
  })
  t.same(failures, [], 'zero failed caller requests')
  t.ok(served > 100, `callers kept being served (${served})`)
  t.equal(versionInUse(h, 'lwa/apps/sp'), h.sm?.current('lwa/apps/sp')?.versionId, 'the broker ends on the new version')
})

t.test('rotation under load: the new secret goes to AWSPENDING first, then AWSCURRENT moves', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const sm = h.sm!
  const newSecret = 'amzn1.oa2-cs.v1.ads-secret-0002'
  h.logs.secrets.add(newSecret)
  const adsFields = baseSecrets()['lwa/ads-us'] as Record<string, string>
  let pending = ''
  const { failures } = await underLoad(h, ['ads-us'], async () => {
    pending = sm.putSecret('lwa/ads-us', { ...adsFields, client_secret: newSecret }, { stages: ['AWSPENDING'] })
    h.lwa.setClientSecrets(fixtures.adsClient.clientId, [newSecret])
    await expireAndWait(h)
    t.ok(sm.calls.some((c) => c.operation === 'GetSecretValue' && c.versionStage === 'AWSPENDING'), 'AWSPENDING was tried')
    sm.moveStage('lwa/ads-us', 'AWSCURRENT', pending)
    await expireAndWait(h)
    await expireAndWait(h)
  })
  t.same(failures, [], 'zero failed caller requests')
  t.equal(sm.current('lwa/ads-us')?.versionId, pending)
  t.equal(versionInUse(h, 'lwa/ads-us'), pending, 'the broker ends on the new AWSCURRENT')
  const lastCall = h.lwa.calls.at(-1)
  t.match(lastCall, { clientId: fixtures.adsClient.clientId, status: 200 })
})

t.test('rotation under load: the refresh token is replaced and the old one revoked', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const newToken = 'Atzr|IwEBISp-refresh-token-0002'
  const { failures } = await underLoad(h, ['sp-acme-eu'], async () => {
    h.sm?.putSecret('lwa/sellers/acme', { refresh_token: newToken })
    h.lwa.addRefreshToken({ refreshToken: newToken, clientId: fixtures.spClient.clientId })
    h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
    await expireAndWait(h)
    await expireAndWait(h)
  })
  t.same(failures, [], 'zero failed caller requests')
  t.equal(versionInUse(h, 'lwa/sellers/acme'), h.sm?.current('lwa/sellers/acme')?.versionId)
})

t.test('a secret LWA still rejects after every stage was tried is credential_rejected, once per retry window', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  h.lwa.setClientSecrets(fixtures.adsClient.clientId, ['a-secret-nobody-has'])
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'credential_rejected')
  t.match(res.json().message, /invalid_client/)
  t.equal(h.lwa.callCount(), 1, 'no other version exists, so LWA was not asked again')
  for (let i = 0; i < 5; i++) t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 502)
  t.equal(h.lwa.callCount(), 1, 'no retry storm')
})

t.test('Secrets Manager down or throttling: cached secrets keep tokens flowing, without a retry storm', async (t) => {
  for (const fault of [{ kind: 'error', type: 'ThrottlingException' }, { kind: 'error', type: 'InternalServiceError' }, { kind: 'reset' }] as const) {
    t.test(fault.kind === 'error' ? fault.type : 'connection reset', async (t) => {
      const h = await build(t, { secretsBackend: 'aws' })
      t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
      t.equal((await h.app.inject('/readyz')).statusCode, 200, 'ready before the outage')
      h.sm!.reset()
      h.sm!.setFault(fault)
      const intervals = 6
      for (let i = 0; i < intervals; i++) {
        h.clock.advance(hourMs)
        for (let j = 0; j < 10; j++) t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
        await store(h).settled()
      }
      t.ok((h.sm!.callCount() ?? 0) <= intervals, `at most one Secrets Manager call per interval (${h.sm!.callCount()})`)
      const status = store(h).status().find((s) => s.secretId === 'lwa/ads-us')
      t.equal(status?.stale, true, 'status says the value is stale')
      t.equal(status?.lastError?.code, 'unavailable')
      t.equal((await h.app.inject('/readyz')).statusCode, 200, 'still ready: cached secrets serve')
    })
  }
  t.end()
})

t.test('a changed refresh_token from LWA is written back exactly once, then used', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const rotated = 'Atzr|IwEBIAds-refresh-token-rotated'
  h.lwa.addRefreshToken({ refreshToken: fixtures.adsRefreshToken, clientId: fixtures.adsClient.clientId, rotateTo: rotated })
  const jwt = () => h.jwt(platform)
  await Promise.all(Array.from({ length: 20 }, async () => h.getToken('ads-us', await jwt())))
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 1, 'one PutSecretValue')
  const stored = JSON.parse(h.sm?.current('lwa/ads-us')?.value ?? '{}')
  t.equal(stored.refresh_token, rotated, 'the new refresh token is AWSCURRENT')
  t.equal(stored.client_secret, fixtures.adsClient.clientSecret, 'the other fields are kept')

  h.clock.advance(hourMs)
  await store(h).settled()
  t.equal((await h.getToken('ads-us', await jwt())).statusCode, 200)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 1, 'still one: LWA returned the same token this time')
  const lastRefresh = h.lwa.calls.filter((c) => c.grantType === 'refresh_token').length
  t.equal(lastRefresh, 2)
})

t.test('steady state: one DescribeSecret per secret per refresh interval, GetSecretValue once', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const jwt = () => h.jwt(platform)
  t.equal((await h.getToken('ads-us', await jwt())).statusCode, 200)
  const intervals = 12
  for (let i = 0; i < intervals; i++) {
    h.clock.advance(300_000)
    for (let j = 0; j < 20; j++) await h.getToken('ads-us', await jwt())
    await store(h).settled()
    await h.services.tokens.settled()
  }
  t.equal(h.sm?.callCount({ operation: 'GetSecretValue' }), 1, 'the value itself is read once')
  // Secrets are checked when used (a token refresh) and at most once per interval: here each
  // of the two refreshes of the hour found its interval passed.
  t.equal(h.sm?.callCount({ operation: 'DescribeSecret' }), 2)
  // Demand every 5 min over an hour: the first token at t=0, refresh-ahead at each half-life (t=30, t=60).
  t.equal(h.lwa.callCount(), 3, 'the first token plus a refresh at each half-life')
})
