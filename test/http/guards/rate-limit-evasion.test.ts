import t from 'tap'
import { build, type Harness, type MintOptions } from '../../helper.js'

const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }

function limited(limits: Record<string, number>, policy?: unknown[]) {
  return (c: Record<string, unknown>) => ({ ...c, rateLimit: { timeWindowSeconds: 60, ...limits }, ...(policy ? { policy } : {}) })
}

const from = (h: Harness, remoteAddress: string, authorization?: string) =>
  h.app.inject({ url: '/token?credential=ads-us', remoteAddress, headers: authorization ? { authorization } : {} })

t.test('rate-limit evasion: unauthenticated callers of one IPv6 /64 share one budget', async (t) => {
  const h = await build(t, { config: limited({ max: 100, unauthenticatedMax: 2 }) })
  t.equal((await from(h, '2001:db8:1:2::1')).statusCode, 401)
  t.equal((await from(h, '2001:db8:1:2:ffff:ffff:ffff:fffe')).statusCode, 401, 'another address of the same /64')
  t.equal((await from(h, '2001:db8:1:2::9')).statusCode, 429, 'a third: the /64 has used its budget')
  t.equal((await from(h, '2001:db8:1:3::1')).statusCode, 401, 'the next /64 has its own')
})

t.test('rate-limit evasion: callers minting subjects under a glob rule share the rule\'s aggregate budget', async (t) => {
  const policy = [{ subject: 'system:serviceaccount:batch:*', credentials: ['ads-*'], rateLimit: { max: 100, aggregateMax: 3 } }]
  const h = await build(t, { config: limited({ max: 100, unauthenticatedMax: 100 }, policy) })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await h.getToken('ads-us', await h.jwt({ claims: { sub: `system:serviceaccount:batch:job-${i}` } }))).statusCode)
  t.same(statuses, [200, 200, 200, 429, 429], 'five new subjects, one budget of three')
  const refused = await h.getToken('ads-us', await h.jwt({ claims: { sub: 'system:serviceaccount:batch:job-99' } }))
  t.equal(refused.json().error, 'rate_limited')
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After')
})

t.test('rate-limit evasion: signature checks are budgeted per address before they are made', async (t) => {
  const h = await build(t, { config: limited({ max: 100, unauthenticatedMax: 100, verificationsPerAddress: 3 }) })
  const known = await h.jwt(reporter)
  t.equal((await from(h, '10.0.0.7', `Bearer ${known}`)).statusCode, 200)
  const fresh = async (i: number) => `Bearer ${await h.jwt({ claims: { sub: `system:serviceaccount:ads:minted-${i}` } })}`
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await from(h, '10.0.0.7', await fresh(i))).statusCode)
  t.same(statuses, [200, 200, 429, 429], 'three signature checks per window from this address (the first JWT used one)')
  const line = h.logs.find((r) => r.error === 'rate_limited' && r.reason === 'verifications_per_address')
  t.ok(line.length >= 1, 'the log says why')
  t.equal((await from(h, '10.0.0.7', `Bearer ${known}`)).statusCode, 200, 'a JWT verified before costs no check and still works')
  t.equal((await from(h, '10.0.0.8', await fresh(9))).statusCode, 200, 'another address has its own budget')
  h.clock.advance(60_000)
  t.equal((await from(h, '10.0.0.7', await fresh(10))).statusCode, 200, 'and the budget refills with the window')
})

t.test('log and audit flooding: a caller\'s 429s are one audit line per window, with a count', async (t) => {
  const h = await build(t, { config: limited({ max: 1, unauthenticatedMax: 100 }) })
  const jwt = await h.jwt(reporter)
  for (let i = 0; i < 100; i++) await h.getToken('ads-us', jwt)
  t.equal(h.logs.find((r) => r.event === 'token.rate_limited').length, 0, 'nothing per request')
  // The limiter and the audit both run on the broker's clock: a new window, one request in it, then 429s.
  h.clock.advance(60_000)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'the budget refills with the window')
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 429)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 429)
  const lines = h.logs.find((r) => r.event === 'token.rate_limited')
  t.equal(lines.length, 1, 'the first window ended: one line for it')
  t.match(lines[0], { callerSubject: 'system:serviceaccount:ads:reporter', credential: 'ads-us', count: 99 })
  await h.services.close()
  t.match(h.logs.find((r) => r.event === 'token.rate_limited').at(-1), { count: 2 }, 'the open window is written at shutdown')
})

t.test('log and audit flooding: an admin audit line names only validated, known credentials', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:ops:admin', admin: true }] }) })
  const huge = 'x'.repeat(50_000)
  const res = await h.app.inject({
    method: 'POST', url: '/admin/secrets/reload', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: { credential: huge },
  })
  t.equal(res.statusCode, 200)
  const audit = h.logs.find((r) => r.event === 'admin.secrets.reload')
  t.equal(audit.length, 1)
  t.equal(audit[0]?.credential, undefined, 'a body the route does not take never reaches the log')
  t.notOk(h.logs.find((r) => JSON.stringify(r).includes(huge.slice(0, 1000))).length, 'not in any line')
  const refresh = await h.app.inject({ method: 'POST', url: '/admin/credentials/ads-us/refresh', headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
  t.equal(refresh.statusCode, 200)
  t.match(h.logs.find((r) => r.event === 'admin.credentials.refresh')[0], { credential: 'ads-us' }, 'a validated, known name is named')
})
