import t from 'tap'
import { build, limitHeaders, type Harness, type MintOptions } from '../../helper.js'

const reporter: MintOptions = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const otherAdsCaller: MintOptions = { claims: { sub: 'system:serviceaccount:ads:writer' } }

function limited(limits: Record<string, number>, policy?: unknown[]) {
  return (c: Record<string, unknown>) => ({ ...c, rateLimit: { timeWindowSeconds: 60, ...limits }, ...(policy ? { policy } : {}) })
}

async function statuses(h: Harness, n: number, caller: MintOptions | undefined): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await h.getToken('ads-us', caller ? await h.jwt(caller) : 'not-a-jwt')).statusCode)
  return out
}

t.test('the N+1th request of a caller in the window gets 429 rate_limited with Retry-After; another caller is unaffected', async (t) => {
  const h = await build(t, { config: limited({ max: 3, unauthenticatedMax: 100 }) })
  t.same(await statuses(h, 3, reporter), [200, 200, 200])
  const res = await h.getToken('ads-us', await h.jwt(reporter))
  t.equal(res.statusCode, 429)
  t.equal(res.json().error, 'rate_limited')
  t.match(res.json().message, /^too many requests; retry in \d+ s$/)
  t.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 60, 'Retry-After within the window')
  t.equal(res.json().request_id, res.headers['x-request-id'])
  t.same(await statuses(h, 3, otherAdsCaller), [200, 200, 200], 'a different caller has its own budget')
  t.equal(h.lwa.callCount(), 1, 'rate limiting does not touch LWA')
})

t.test('every answer says the caller\'s limit, what is left of it and when it refills; the window runs on the broker\'s clock', async (t) => {
  const h = await build(t, { config: limited({ max: 2, unauthenticatedMax: 100 }) })
  const jwt = await h.jwt(reporter)
  t.same(limitHeaders(await h.getToken('ads-us', jwt)), [2, 1, 60])
  h.clock.advance(59_500)
  t.same(limitHeaders(await h.getToken('ads-us', jwt)), [2, 0, 1], 'half a second left rounds up')
  const refused = await h.getToken('ads-us', jwt)
  t.same([refused.statusCode, refused.headers['retry-after'], ...limitHeaders(refused)], [429, '1', 2, 0, 1])
  h.clock.advance(500)
  t.same(limitHeaders(await h.getToken('ads-us', jwt)), [2, 1, 60], 'a new window')
})

t.test('a fresh JWT does not reset the budget: the key is the caller (issuer + subject), not the token', async (t) => {
  const h = await build(t, { config: limited({ max: 2, unauthenticatedMax: 100 }) })
  await statuses(h, 2, reporter)
  t.equal((await h.getToken('ads-us', await h.jwt({ ...reporter, lifetimeSeconds: 900 }))).statusCode, 429)
})

t.test('unauthenticated floods are limited by address', async (t) => {
  const h = await build(t, { config: limited({ max: 100, unauthenticatedMax: 2 }) })
  t.same(await statuses(h, 3, undefined), [401, 401, 429])
  const flooded = await h.getToken('ads-us', 'still-not-a-jwt')
  t.equal(flooded.json().error, 'rate_limited')
  t.equal((await h.getToken('ads-us', await h.jwt(reporter))).statusCode, 200, 'an authenticated caller from the same address is not caught by it')
})

t.test('a policy rule can give its callers their own limit', async (t) => {
  const policy = [
    { subject: 'system:serviceaccount:ads:reporter', credentials: ['ads-*'], rateLimit: { max: 5 } },
    { subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'] },
  ]
  const h = await build(t, { config: limited({ max: 2, unauthenticatedMax: 100 }, policy) })
  t.same(await statuses(h, 6, reporter), [200, 200, 200, 200, 200, 429])
  t.same(await statuses(h, 3, otherAdsCaller), [200, 200, 429], 'the global limit for everyone else')
})

t.test('a rate-limited request is an audit event', async (t) => {
  const h = await build(t, { config: limited({ max: 1, unauthenticatedMax: 100 }) })
  await statuses(h, 2, reporter)
  // Written when the window ends (here: the broker stops), one line per caller and window.
  await h.services.close()
  const denied = h.logs.find((r) => r.event === 'token.rate_limited')
  t.equal(denied.length, 1)
  t.match(denied[0], { error: 'rate_limited', credential: 'ads-us', callerSubject: 'system:serviceaccount:ads:reporter', count: 1 })
})
