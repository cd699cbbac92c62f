// Restricted Data Tokens end to end: the broker's POST /restricted-data-token against the SP-API
// emulator's Tokens API (its usage plan on the same fake clock), the RDT then opening the
// restricted operation it was minted for. No Amazon 429 ever reaches a caller.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { fingerprint } from '../../src/observability/audit.js'
import { baseSecrets, build, fixtures, seedEmulator, type BuildOptions, type Harness } from '../helper.js'
import { call } from '../support/api-test-client.js'
import { FakeClock } from '../support/fake-clock.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { RedisServer } from '../support/redis-server.js'
import { SpApiEmulator } from '../support/sp-api-emulator.js'
import { plans } from '../support/sp-api-routes.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const seller = 'A1ACMESELLER'
const labels = { claims: { sub: 'system:serviceaccount:shop:labels' } }
const addressOnly = { claims: { sub: 'system:serviceaccount:shop:address' } }
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const address = (order: string) => ({ method: 'GET', path: `/orders/v0/orders/${order}/address` })
const orders = { method: 'GET', path: '/orders/v0/orders', dataElements: ['shippingAddress', 'buyerInfo'] }

interface Rig {
  h: Harness
  sp: SpApiEmulator
  /** The na host's emulator: `sp` itself, unless the rig was asked for a host per region. */
  spNa: SpApiEmulator
  lwa: LwaEmulator
  clock: FakeClock
}

interface RigOptions extends Partial<Omit<Rig, 'spNa'>> {
  redis?: BuildOptions['redis']
  deadlineMs?: number
  /** eu and na at an emulator each: which host an RDT is minted at is then seen, not assumed. */
  hostPerRegion?: boolean
}

/** An SP-API emulator on the rig's LWA and clock, knowing the test seller; closed with the test. */
async function startSp(t: Test, lwa: LwaEmulator, clock: FakeClock): Promise<SpApiEmulator> {
  const sp = await SpApiEmulator.start({ lwa, clock })
  t.teardown(() => sp.close())
  sp.setSellingPartner(fixtures.spRefreshToken, seller)
  return sp
}

async function rig(t: Test, options: RigOptions = {}): Promise<Rig> {
  const clock = options.clock ?? new FakeClock()
  let lwa = options.lwa
  if (!lwa) {
    lwa = await LwaEmulator.start({ clock })
    t.teardown(() => lwa?.close())
    seedEmulator(lwa)
  }
  const sp = options.sp ?? await startSp(t, lwa, clock)
  const spNa = options.hostPerRegion ? await startSp(t, lwa, clock) : sp
  const h = await build(t, {
    lwa, clock, ...(options.redis ? { redis: options.redis } : {}),
    secrets: (s) => ({ ...s, 'lwa/sellers/revoked': { refresh_token: 'Atzr|IwEBI-never-issued' } }),
    config: (c) => ({
      ...c,
      credentials: {
        ...(c.credentials as object),
        // The same seller's grant in the na region: an RDT's host is its credential's region's.
        'sp-acme-na': { api: 'sp-api', region: 'na', app: 'lwa/apps/sp', secret: 'lwa/sellers/acme' },
        'sp-revoked': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/revoked' },
        'sp-missing': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/missing' },
      },
      policy: [
        { subject: labels.claims.sub, credentials: ['sp-*', 'ads-*'], restrictedData: true },
        { subject: addressOnly.claims.sub, credentials: ['sp-*'], restrictedData: { paths: ['/orders/v0/orders/*/address'] } },
        ...(c.policy as unknown[]),
      ],
      spApi: { endpoints: { eu: sp.url, na: spNa.url } },
      ...(options.deadlineMs ? { tokens: { ...(c.tokens as object), requestDeadlineMs: options.deadlineMs } } : {}),
    }),
  })
  t.teardown(() => {
    for (const minted of [...sp.rdts, ...spNa.rdts]) h.logs.secrets.add(minted.restrictedDataToken)
  })
  return { h, sp, spNa, lwa, clock }
}

/**
 * POST /restricted-data-token; run by rdt-get.test.ts with RDT_FORM=get, a request of one resource goes as the GET
 * form instead, so every test here proves both forms.
 */
async function askRdt(h: Harness, who: { claims: { sub: string } }, body: Record<string, unknown>) {
  const headers = { authorization: `Bearer ${await h.jwt(who)}` }
  const fields = { credential: 'sp-acme-eu', ...body }
  const query = process.env.RDT_FORM === 'get' ? queryOf(fields) : undefined
  const answer = await h.app.inject(query === undefined
    ? { method: 'POST', url: '/restricted-data-token', headers, payload: fields }
    : { method: 'GET', url: `/restricted-data-token?${query}`, headers })
  return { status: answer.statusCode, body: answer.json(), headers: answer.headers }
}

/** The GET form's query for a body of one resource with string fields; undefined when the body has no such form. */
function queryOf({ restrictedResources, ...rest }: Record<string, unknown>): string | undefined {
  if (!Array.isArray(restrictedResources) || restrictedResources.length !== 1) return undefined
  const { dataElements, ...resource } = restrictedResources[0] as Record<string, unknown>
  const fields = { ...rest, ...resource, ...(Array.isArray(dataElements) ? { dataElements: dataElements.join(',') } : {}) }
  const values = Object.values(fields)
  if (!values.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined
  return new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)] as [string, string])).toString()
}

/** The broker's `rdt.issued` audit lines, oldest first. */
const rdtAudit = (h: Harness) => h.logs.records().filter((l) => l.event === 'rdt.issued')

const tokensApiCalls = (sp: SpApiEmulator, status?: number) =>
  sp.callCount({ operation: 'createRestrictedDataToken', ...(status === undefined ? {} : { status }) })

t.test('an RDT for an order\'s address opens that address, and only for the resources it was minted for', async (t) => {
  const { h, sp } = await rig(t)
  const got = await askRdt(h, labels, { restrictedResources: [address('123-1234567-1234567')] })
  t.equal(got.status, 200)
  t.equal(got.headers['cache-control'], 'no-store')
  t.match(got.body, { credential: 'sp-acme-eu', region: 'eu', expires_in: 3600 })
  t.match(got.body.restricted_data_token, /^Atz\.sprdt\|/)
  t.same(got.body.headers, { 'x-amz-access-token': got.body.restricted_data_token })
  t.same(sp.rdts[0]?.resources, [address('123-1234567-1234567')])
  t.equal(sp.rdts[0]?.sellingPartnerId, seller)

  const opened = await call(`${sp.url}/orders/v0/orders/123-1234567-1234567/address`, { headers: got.body.headers })
  t.equal(opened.status, 200)
  const other = await call(`${sp.url}/orders/v0/orders/999-9999999-9999999/address`, { headers: got.body.headers })
  t.equal(other.status, 403, 'another order\'s address is not opened by this RDT')

  const audit = rdtAudit(h)
  t.equal(audit.length, 1)
  t.match(audit[0], {
    log: 'audit', outcome: 'allowed', credential: 'sp-acme-eu', callerSubject: labels.claims.sub,
    restrictedPaths: ['/orders/v0/orders/123-1234567-1234567/address'], tokenFingerprint: /^sha256:/,
  })
})

t.test('200 concurrent callers asking one resource set, in any order: one Tokens API call, each audited', async (t) => {
  const { h, sp } = await rig(t)
  const asked = Array.from({ length: 200 }, (_, i) => askRdt(h, labels, {
    restrictedResources: i % 2 === 0 ? [orders, address('1')] : [address('1'), { ...orders, dataElements: ['buyerInfo', 'shippingAddress', 'buyerInfo'] }],
  }))
  const answers = await Promise.all(asked)
  t.same([...new Set(answers.map((a) => a.status))], [200])
  t.equal(new Set(answers.map((a) => a.body.restricted_data_token)).size, 1)
  t.equal(tokensApiCalls(sp), 1)
  t.equal((await askRdt(h, labels, { restrictedResources: [address('1'), orders] })).status, 200)
  t.equal(tokensApiCalls(sp), 1, 'later callers are answered from the cache')
  // One minted, 199 joined, one from the cache on the route's fast path: each answer, one audit line of its own.
  const audit = rdtAudit(h)
  t.equal(audit.length, 201)
  t.equal(new Set(audit.map((l) => l.requestId)).size, 201)
  const token = answers[0]?.body.restricted_data_token as string
  const paths = ['/orders/v0/orders', '/orders/v0/orders/1/address']
  t.match(audit, Array.from({ length: 201 }, () => ({ restrictedPaths: paths, tokenFingerprint: fingerprint(token) })))
  t.notOk(h.logs.lines.some((l) => /Atz\.sprdt\|/.test(l)), 'no log line holds an RDT')
  const metrics = (await h.ops.inject('/metrics')).body
  t.match(metrics, /lwa_broker_rdt_issued_total\{source="minted"\} 1\n/)
  t.match(metrics, /lwa_broker_rdt_issued_total\{source="joined"\} 199\n/)
  t.match(metrics, /lwa_broker_rdt_issued_total\{source="cache"\} 1\n/)
  t.match(metrics, /lwa_broker_rdt_tokens_api_calls_total\{outcome="minted"\} 1\n/)
})

t.test('different orders at once: bounded by the seller\'s bucket, callers beyond it rate_limited, never Amazon\'s 429', async (t) => {
  const { h, sp, clock } = await rig(t)
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    askRdt(h, labels, { restrictedResources: [address(`order-${i}`)] })))
  const ok = answers.filter((a) => a.status === 200)
  const limited = answers.filter((a) => a.status === 429)
  t.equal(ok.length, plans.createRestrictedDataToken.burst, 'the burst goes through')
  t.equal(limited.length, 30 - ok.length)
  for (const a of limited) {
    t.equal(a.body.error, 'rate_limited')
    t.equal(a.headers['retry-after'], '1')
  }
  t.equal(tokensApiCalls(sp), ok.length)
  t.equal(tokensApiCalls(sp, 429), 0, 'Amazon never had to throttle the broker')

  // Which requests the burst let through is the order they reached the bucket in, not the order they were sent.
  const refused = answers.findIndex((a) => a.status === 429)
  const served = answers.findIndex((a) => a.status === 200)
  clock.advance(1000)
  t.equal((await askRdt(h, labels, { restrictedResources: [address(`order-${refused}`)] })).status, 200, 'a second refills one')
  t.equal(tokensApiCalls(sp), ok.length + 1)
  t.equal((await askRdt(h, labels, { restrictedResources: [address(`order-${served}`)] })).status, 200, 'cached sets still served')
  t.equal(tokensApiCalls(sp), ok.length + 1, 'from the cache')
  t.equal(tokensApiCalls(sp, 429), 0)
  t.match((await h.ops.inject('/metrics')).body, /lwa_broker_rdt_paced_total 20\n/)
})

t.test('an Amazon 429 empties the bucket; x-amzn-RateLimit-Limit slows the pace', async (t) => {
  const { h, sp, clock } = await rig(t)
  sp.failNext({ kind: 'status', status: 429 }, 1, 'createRestrictedDataToken')
  const throttled = await askRdt(h, labels, { restrictedResources: [address('a')] })
  t.equal(throttled.status, 429)
  t.equal(throttled.body.error, 'rate_limited')
  t.equal(throttled.headers['retry-after'], '1')
  t.equal((await askRdt(h, labels, { restrictedResources: [address('b')] })).status, 429, 'not sent to Amazon')
  t.equal(tokensApiCalls(sp), 1)

  const header = plans.createRestrictedDataToken.header
  t.teardown(() => { plans.createRestrictedDataToken.header = header })
  plans.createRestrictedDataToken.header = '0.5' // what Amazon says for a seller on a slower plan
  clock.advance(1000)
  t.equal((await askRdt(h, labels, { restrictedResources: [address('c')] })).status, 200)
  clock.advance(1000)
  const slower = await askRdt(h, labels, { restrictedResources: [address('d')] })
  t.equal(slower.status, 429, 'at 0.5/s one second is not enough')
  clock.advance(1000)
  t.equal((await askRdt(h, labels, { restrictedResources: [address('d')] })).status, 200)
  t.equal(tokensApiCalls(sp, 429), 1, 'only the injected one')
})

t.test('restricted data needs a rule that allows it, for every path asked', async (t) => {
  const { h, sp } = await rig(t)
  const none = await askRdt(h, platform, { restrictedResources: [address('1')] })
  t.equal(none.status, 403)
  t.equal(none.body.error, 'forbidden')
  t.match(none.body.message, /may not have restricted data of credential sp-acme-eu/)
  const unknownName = await askRdt(h, platform, { credential: 'sp-nope', restrictedResources: [address('1')] })
  t.same([unknownName.status, unknownName.body.error], [403, 'forbidden'], 'a denied caller learns nothing of names')

  t.equal((await askRdt(h, addressOnly, { restrictedResources: [address('1')] })).status, 200)
  const beyond = await askRdt(h, addressOnly, { restrictedResources: [address('1'), orders] })
  t.same([beyond.status, beyond.body.error], [403, 'forbidden'], 'one path outside the rule refuses the set')
  t.equal(tokensApiCalls(sp), 1)
  const denied = h.logs.records().filter((l) => l.event === 'token.denied' && l.error === 'forbidden')
  t.equal(denied.length, 3, 'every refusal is audited')
})

t.test('the Tokens API\'s refusals reach the caller as codes naming the resource', async (t) => {
  const { h, sp } = await rig(t)
  const invalid = await askRdt(h, labels, { restrictedResources: [{ method: 'GET', path: '/orders/v0/orders' }] })
  t.equal(invalid.status, 400)
  t.equal(invalid.body.error, 'resource_invalid')
  t.match(invalid.body.message, /GET \/orders\/v0\/orders .*needs dataElements/)

  sp.forbidResource('/orders/v0/orders/{orderId}/address')
  const forbidden = await askRdt(h, labels, { restrictedResources: [address('2')] })
  t.same([forbidden.status, forbidden.body.error], [403, 'resource_forbidden'])
  t.match(forbidden.body.message, /GET \/orders\/v0\/orders\/2\/address/)
  sp.forbiddenResourceStatus = 400 // what developers report Amazon answering
  const as400 = await askRdt(h, labels, { restrictedResources: [address('3')] })
  t.same([as400.status, as400.body.error], [403, 'resource_forbidden'])
  t.match((await h.ops.inject('/metrics')).body, /lwa_broker_rdt_tokens_api_calls_total\{outcome="refused"\} 3\n/)
})

t.test('a failing or slow Tokens API is upstream_unavailable; a broken answer is never served', async (t) => {
  const { h, sp } = await rig(t)
  for (const fault of [{ kind: 'status', status: 503 }, { kind: 'status', status: 500, html: true }, { kind: 'reset' }] as const) {
    sp.failNext(fault, 1, 'createRestrictedDataToken')
    const failed = await askRdt(h, labels, { restrictedResources: [address('x')] })
    t.same([failed.status, failed.body.error, failed.headers['retry-after']], [503, 'upstream_unavailable', '1'], fault.kind)
  }
  sp.failNext({ kind: 'status', status: 403, message: 'Access to requested resource is denied.' }, 1, 'createRestrictedDataToken')
  t.equal((await askRdt(h, labels, { restrictedResources: [address('x')] })).status, 403, 'a 403 about the resource')
  t.equal((await askRdt(h, labels, { restrictedResources: [address('x')] })).status, 200, 'and then it works')
})

t.test('a Tokens API slower than the request deadline: 503 at the deadline, its RDT served next', async (t) => {
  const { h, sp } = await rig(t, { deadlineMs: 300 })
  await h.services.tokens.getToken('sp-acme-eu', 60) // the seller's access token is not what is slow
  sp.failNext({ kind: 'slow', ms: 800 }, 1, 'createRestrictedDataToken')
  const late = await askRdt(h, labels, { restrictedResources: [address('slow')] })
  t.same([late.status, late.body.error, late.headers['retry-after']], [503, 'upstream_unavailable', '1'])
  t.match(late.body.message, /the Tokens API is slow or unreachable/)
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal((await askRdt(h, labels, { restrictedResources: [address('slow')] })).status, 200)
  t.equal(tokensApiCalls(sp), 1, 'the late answer was kept')
})

t.test('only a seller\'s SP-API credential has RDTs; bad bodies are named', async (t) => {
  const { h } = await rig(t)
  const ads = await askRdt(h, labels, { credential: 'ads-us', restrictedResources: [address('1')] })
  t.same([ads.status, ads.body.error], [400, 'invalid_request'])
  t.match(ads.body.message, /not a seller's SP-API credential/)
  const unknown = await askRdt(h, labels, { credential: 'sp-nope', restrictedResources: [address('1')] })
  t.same([unknown.status, unknown.body.error], [404, 'unknown_credential'])
  for (const body of [
    { restrictedResources: [] },
    { restrictedResources: [{ method: 'PATCH', path: '/orders/v0/orders/1/address' }] },
    { restrictedResources: [{ method: 'GET', path: 'orders?x=1' }] },
    { restrictedResources: [address('1')], min_ttl: 3000 },
    { restrictedResources: [address('1')], extra: true },
  ]) {
    const bad = await askRdt(h, labels, body)
    t.same([bad.status, bad.body.error], [400, 'invalid_request'], JSON.stringify(body))
  }
  for (const [credential, error] of [['sp-revoked', 'credential_rejected'], ['sp-missing', 'credential_misconfigured']]) {
    const failed = await askRdt(h, labels, { credential, restrictedResources: [address('1')] })
    t.same([failed.status, failed.body.error], [502, error], 'the seller\'s access token first')
  }
  const noJwt = await h.app.inject({ method: 'POST', url: '/restricted-data-token', payload: { credential: 'sp-acme-eu', restrictedResources: [address('1')] } })
  t.equal(noJwt.statusCode, 401)
  const noJwtGet = await h.app.inject({ method: 'GET', url: '/restricted-data-token?credential=sp-acme-eu&method=GET&path=/x' })
  t.equal(noJwtGet.statusCode, 401, 'the GET form too')
})

t.test('min_ttl: an RDT with less life left is minted anew; another account\'s grant never reuses one', async (t) => {
  const { h, sp, clock, lwa } = await rig(t)
  const first = await askRdt(h, labels, { restrictedResources: [address('1')] })
  clock.advance(3000_000) // 600 s left
  t.equal((await askRdt(h, labels, { restrictedResources: [address('1')], min_ttl: 300 })).body.restricted_data_token,
    first.body.restricted_data_token)
  const fresher = await askRdt(h, labels, { restrictedResources: [address('1')], min_ttl: 900 })
  t.not(fresher.body.restricted_data_token, first.body.restricted_data_token)
  t.ok(fresher.body.expires_in >= 900)
  t.equal(tokensApiCalls(sp), 2)

  // The credential is connected to another seller: its grant secret holds another refresh token.
  lwa.addRefreshToken({ refreshToken: 'Atzr|IwEBI-other-seller', clientId: fixtures.spClient.clientId })
  sp.setSellingPartner('Atzr|IwEBI-other-seller', 'A2OTHERSELLER')
  h.writeSecrets({ ...baseSecrets(), 'lwa/sellers/acme': { refresh_token: 'Atzr|IwEBI-other-seller' } })
  await h.services.tokens.reconnected('sp-acme-eu') // what onboarding does
  const moved = await askRdt(h, labels, { restrictedResources: [address('1')] })
  t.equal(moved.status, 200)
  t.not(moved.body.restricted_data_token, fresher.body.restricted_data_token)
  t.equal(sp.rdts.at(-1)?.sellingPartnerId, 'A2OTHERSELLER')
})

t.test('targetApplication reaches the Tokens API: an RDT delegated to an app is not the seller\'s own', async (t) => {
  const { h, sp } = await rig(t)
  const target = 'amzn1.sellerapps.app.0f1e2d3c-4b5a'
  const delegated = await askRdt(h, labels, { targetApplication: target, restrictedResources: [address('1')] })
  const own = await askRdt(h, labels, { restrictedResources: [address('1')] })
  t.same([delegated.status, own.status], [200, 200])
  t.not(delegated.body.restricted_data_token, own.body.restricted_data_token)
  // Minted one after the other: the delegated one first, the seller's own (no targetApplication at all) next.
  t.same(sp.rdts.map((r) => r.targetApplication), [target, undefined], 'Amazon was asked for each as it was asked')
})

t.test('an RDT is minted at its credential\'s regional SP-API host', async (t) => {
  const { h, sp: eu, spNa: na } = await rig(t, { hostPerRegion: true })
  const atEu = await askRdt(h, labels, { restrictedResources: [address('1')] })
  const atNa = await askRdt(h, labels, { credential: 'sp-acme-na', restrictedResources: [address('1')] })
  t.same([atEu.status, atEu.body.region, atNa.status, atNa.body.region], [200, 'eu', 200, 'na'])
  t.same(eu.rdts.map((r) => r.restrictedDataToken), [atEu.body.restricted_data_token], 'eu\'s at the eu host')
  t.same(na.rdts.map((r) => r.restrictedDataToken), [atNa.body.restricted_data_token], 'na\'s at the na host')
  const opened = await call(`${na.url}/orders/v0/orders/1/address`, { headers: atNa.body.headers })
  t.equal(opened.status, 200, 'and it opens the address there')
})

t.test('two replicas sharing Redis: one Tokens API call for a set, one pace per seller', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const shared = { connection: redis.connection, key: randomBytes(32), keyPrefix: `rdt-${randomBytes(4).toString('hex')}:` }
  const one = await rig(t, { redis: shared })
  const two = await rig(t, { redis: shared, lwa: one.lwa, sp: one.sp, clock: one.clock })
  const set = { restrictedResources: [address('shared-1')] }
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => askRdt(i % 2 ? two.h : one.h, labels, set)))
  t.same([...new Set(answers.map((a) => a.status))], [200])
  t.equal(new Set(answers.map((a) => a.body.restricted_data_token)).size, 1)
  t.equal(tokensApiCalls(one.sp), 1)

  const many = await Promise.all(Array.from({ length: 24 }, (_, i) =>
    askRdt(i % 2 ? two.h : one.h, labels, { restrictedResources: [address(`many-${i}`)] })))
  t.equal(many.filter((a) => a.status === 200).length, plans.createRestrictedDataToken.burst - 1, 'one bucket for both')
  t.equal(tokensApiCalls(one.sp, 429), 0)
})
