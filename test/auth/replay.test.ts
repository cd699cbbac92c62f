import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, type BuildOptions, type Harness, type MintOptions } from '../helper.js'
import { deployment } from '../cache/fixtures/deployment.js'
import { RedisServer } from '../support/redis-server.js'

const platform = 'system:serviceaccount:platform:all'

/** The harness's only issuer mints a token per request: each `jti` is good once. */
const requireJti = (extra: Record<string, unknown> = {}): BuildOptions['config'] => (c) => ({
  ...c,
  ...extra,
  issuers: (c.issuers as Array<Record<string, unknown>>).map((issuer) => ({ ...issuer, requireJti: true })),
})

const token = (h: Harness, jti: string | undefined, mint: MintOptions = {}): Promise<string> =>
  h.jwt({ ...mint, claims: { sub: platform, ...(jti === undefined ? {} : { jti }), ...mint.claims } })

/** The reason the broker logged for this request's refusal. */
const reasonOf = (h: Harness, res: LightMyRequestResponse): unknown =>
  h.logs.find((r) => r.reqId === res.headers['x-request-id'] && typeof r.reason === 'string')[0]?.reason

function refused(t: Parameters<typeof build>[0], h: Harness, res: LightMyRequestResponse, reason: string, name: string): void {
  t.equal(res.statusCode, 401, `${name}: 401`)
  t.equal(res.json().error, 'unauthenticated', name)
  t.equal(reasonOf(h, res), reason, `${name}: the log says ${reason}`)
}

t.test('requireJti tokens could be replayed: a token without jti is refused', async (t) => {
  const h = await build(t, { config: requireJti() })
  refused(t, h, await h.getToken('ads-us', await token(h, undefined)), 'missing_jti', 'no jti')
  refused(t, h, await h.getToken('ads-us', await token(h, '')), 'missing_jti', 'an empty jti')
  t.equal(h.lwa.callCount(), 0)
})

t.test('requireJti tokens could be replayed: each jti is accepted once, whichever token carries it', async (t) => {
  const h = await build(t, { config: requireJti() })
  const once = await token(h, 'jti-one')
  t.equal((await h.getToken('ads-us', once)).statusCode, 200, 'first use')
  refused(t, h, await h.getToken('ads-us', once), 'jti_replayed', 'the same token again')
  refused(t, h, await h.getToken('sp-acme-eu', once), 'jti_replayed', 'the same token for another credential')
  const sameJti = await token(h, 'jti-one', { lifetimeSeconds: 300, claims: { sub: 'system:serviceaccount:ads:reporter' } })
  t.not(sameJti, once)
  refused(t, h, await h.getToken('ads-us', sameJti), 'jti_replayed', 'another token with the same jti')
  t.equal((await h.getToken('ads-us', await token(h, 'jti-two'))).statusCode, 200, 'another jti')
  t.equal(h.logs.find((r) => r.event === 'token.issued').length, 2, 'two issuances')
})

t.test('requireJti tokens could be replayed: a full replay cache refuses new jtis with 503 until the remembered tokens expire', async (t) => {
  const h = await build(t, { config: requireJti({ auth: { replayCache: { maxEntries: 2 } } }) })
  for (const jti of ['jti-a', 'jti-b']) t.equal((await h.getToken('ads-us', await token(h, jti, { lifetimeSeconds: 60 }))).statusCode, 200, jti)
  // Lives past the other two: the same token is tried again once they have expired.
  const third = await token(h, 'jti-c', { lifetimeSeconds: 600 })
  const full = await h.getToken('ads-us', third)
  t.equal(full.statusCode, 503, 'refused rather than a jti forgotten')
  t.match(full.json(), { error: 'upstream_unavailable' })
  t.equal(full.headers['retry-after'], '5')
  t.equal(reasonOf(h, full), 'replay_cache_full', 'the log says why')

  h.clock.advance(61_000)
  t.equal((await h.getToken('ads-us', third)).statusCode, 200, 'once jti-a and jti-b expired, the third token is accepted')
  refused(t, h, await h.getToken('ads-us', third), 'jti_replayed', 'and then only once')
})

t.test('requireJti tokens could be replayed: replicas sharing Redis accept a jti once between them', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const d = await deployment(t, redis, 2, { config: requireJti() })
  const [a, b] = d.replicas as [Harness, Harness]
  const used = await token(a, 'jti-shared')
  t.equal((await a.getToken('ads-us', used)).statusCode, 200, 'replica A accepts it')
  refused(t, b, await b.getToken('ads-us', used), 'jti_replayed', 'replica B refuses the replay')
  const other = await token(b, 'jti-other')
  t.equal((await b.getToken('ads-us', other)).statusCode, 200, 'replica B accepts a new jti')
  refused(t, a, await a.getToken('ads-us', other), 'jti_replayed', 'which replica A then refuses')
})
