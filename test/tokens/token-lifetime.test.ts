import t from 'tap'
import { build } from '../helper.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const withAdmin = (c: Record<string, unknown>) => ({ ...c, policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }] })

t.test('min_ttl above LWA\'s lifetime: refused with invalid_request naming the lifetime, never an LWA call per request', async (t) => {
  const h = await build(t, { lwaOptions: { expiresInSeconds: 2000 } })
  const jwt = await h.jwt(platform)
  const first = await h.getToken('ads-us', jwt, '&min_ttl=2500')
  t.equal(first.statusCode, 400, 'a min_ttl no token of this credential can meet')
  t.equal(first.json().error, 'invalid_request')
  t.match(first.json().message, /min_ttl 2500 cannot be met: LWA grants credential ads-us tokens of 2000 s; ask for at most 1995/)
  for (let i = 0; i < 20; i++) t.equal((await h.getToken('ads-us', jwt, '&min_ttl=2500')).statusCode, 400)
  t.equal(h.lwa.callCount(), 1, 'one LWA call learnt the lifetime; the next twenty asked nobody')
  t.equal((await h.getToken('ads-us', jwt, '&min_ttl=1995')).statusCode, 200, 'what the message says works')
  t.equal(h.lwa.callCount(), 1, 'from the cached token')
  t.equal(h.services.status.list().find((s) => s.credential === 'ads-us')?.health, 'healthy', 'a caller\'s impossible min_ttl is not the credential\'s failure')
})

t.test('min_ttl above LWA\'s lifetime: a min_ttl just under the lifetime refreshes at most once per few seconds', async (t) => {
  const h = await build(t, { lwaOptions: { expiresInSeconds: 2000 } })
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('ads-us', jwt, '&min_ttl=1990')).statusCode, 200)
  for (let i = 0; i < 20; i++) await h.getToken('ads-us', jwt, '&min_ttl=1990')
  t.equal(h.lwa.callCount(), 1, 'the fresh token meets min_ttl for several seconds: no call per request')
})

t.test('a huge expires_in from LWA: a malformed answer (503, then recovery), never a 500, and /admin/credentials keeps working', async (t) => {
  const h = await build(t, { config: withAdmin })
  h.lwa.expiresInSeconds = 1e20
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 503, 'treated as LWA answering nonsense')
  t.equal(res.json().error, 'upstream_unavailable')
  const list = await h.app.inject({ url: '/admin/credentials', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.equal(list.statusCode, 200, 'the status page still renders')
  t.match(list.json().credentials.find((c: { credential: string }) => c.credential === 'ads-us'), { health: 'degraded', last_error: { code: 'upstream_unavailable', lwa_error: 'malformed_response' } })
  h.lwa.expiresInSeconds = 3600
  h.clock.advance(120_000)
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200, 'LWA sane again: served')
})

t.test('a huge expires_in from LWA: a lifetime above lwa.maxTokenLifetimeSeconds is trusted only that long', async (t) => {
  const h = await build(t)
  h.lwa.expiresInSeconds = 7200
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 200)
  t.equal(res.json().expires_in, 3600, 'clamped to the documented maximum (3600 s by default)')
  h.clock.advance(3600_000 - 30_000)
  await h.getToken('ads-us', await h.jwt(platform))
  t.equal(h.lwa.callCount(), 2, 'and refreshed by that lifetime, not by the one LWA claimed')
})
