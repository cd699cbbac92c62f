import t from 'tap'
import { build, type Harness, type MintOptions } from '../helper.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' }, lifetimeSeconds: 30 * 24 * 3600 }
const minute = 60_000

/** One attempt per refresh: the in-request retries pause in real time, which these minute-scale tests skip. */
const oneAttempt = (c: Record<string, unknown>) => ({ ...c, lwa: { ...(c.lwa as object), attempts: 1 } })

/** Steady demand on the fake clock: a request every `stepMs`, the background refresher ticking too. */
async function demand(h: Harness, credential: string, untilMs: number, stepMs: number, onStep: (elapsedMs: number) => void = () => {}) {
  const start = h.clock.now()
  const failures: Array<{ atMin: number; status: number; error: string; retryAfter: string | undefined }> = []
  let served = 0
  const jwt = await h.jwt(platform)
  for (let elapsed = 0; elapsed <= untilMs; elapsed += stepMs) {
    h.clock.advance(elapsed === 0 ? 0 : stepMs)
    onStep(h.clock.now() - start)
    h.services.refresher.refreshDue()
    await h.services.tokens.settled()
    const res = await h.getToken(credential, jwt)
    if (res.statusCode === 200) served++
    else failures.push({ atMin: (h.clock.now() - start) / minute, status: res.statusCode, error: res.json().error, retryAfter: res.headers['retry-after'] as string | undefined })
    await h.services.tokens.settled()
  }
  return { served, failures }
}

t.test('LWA down for 29 minutes with 60-minute tokens: zero failed caller requests, bounded LWA calls', async (t) => {
  const h = await build(t, { config: oneAttempt })
  const outage = { from: 25 * minute, to: 54 * minute }
  const { served, failures } = await demand(h, 'ads-us', 70 * minute, 15_000, (elapsed) => {
    h.lwa.setFault(elapsed >= outage.from && elapsed < outage.to ? { kind: 'status', status: 503, error: 'temporarily_unavailable' } : null)
  })
  t.same(failures, [], 'zero failed caller requests')
  t.equal(served, 281)
  const failedCalls = h.lwa.callCount({ error: 'temporarily_unavailable' })
  t.ok(failedCalls > 3, `the broker kept probing during the outage (${failedCalls} calls)`)
  t.ok(failedCalls <= 40, `backoff kept the probing bounded (${failedCalls} calls in 24 minutes of failed refreshes)`)
  const status = h.services.status.list().find((s) => s.credential === 'ads-us')
  t.equal(status?.health, 'healthy', 'healthy again after the outage')
})

t.test('LWA down past expiry: 503 with Retry-After, then recovery on the first successful refresh', async (t) => {
  const h = await build(t, { config: oneAttempt })
  let recoveredAtMin = 0
  const { failures } = await demand(h, 'ads-us', 80 * minute, 30_000, (elapsed) => {
    const down = elapsed >= 20 * minute && elapsed < 70 * minute
    h.lwa.setFault(down ? { kind: 'status', status: 500, error: 'server_error' } : null)
    if (!down && elapsed >= 70 * minute && recoveredAtMin === 0) recoveredAtMin = elapsed / minute
  })
  t.ok(failures.length > 0, 'once the cached token ran out, callers were told')
  t.ok(failures.every((f) => f.status === 503 && f.error === 'upstream_unavailable'), 'always 503 upstream_unavailable, never a 500')
  t.ok(failures.every((f) => Number(f.retryAfter) >= 1), 'always with Retry-After')
  t.ok(failures.every((f) => f.atMin >= 59 && f.atMin < 73), `failures only between expiry (minute 59, min_ttl 60 s) and shortly after recovery (${failures.map((f) => f.atMin).join(', ')})`)
  const before = h.lwa.callCount({ ok: true })
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 200, 'recovered')
  t.equal(h.lwa.callCount({ ok: true }), before, 'and served from the cache')
})

t.test('a 429 storm with Retry-After: 5 → the broker waits as told, LWA calls bounded', async (t) => {
  const h = await build(t, { config: oneAttempt })
  h.lwa.setFault({ kind: 'status', status: 429, retryAfter: '5' })
  const callTimes: number[] = []
  const { failures } = await demand(h, 'ads-us', 60_000, 1000, (elapsed) => {
    if (h.lwa.callCount() > callTimes.length) callTimes.push(elapsed - 1000)
  })
  t.equal(failures.length, 61, 'no token could be had')
  t.ok(failures.every((f) => f.status === 503 && Number(f.retryAfter) >= 1), 'every answer says when to retry')
  const gaps = callTimes.slice(1).map((at, i) => at - (callTimes[i] as number))
  t.ok(gaps.every((gap) => gap >= 5000), `LWA was never asked again sooner than its Retry-After (gaps ${gaps.join(', ')} ms)`)
  const calls = h.lwa.callCount()
  t.ok(calls <= 13 && calls >= 5, `at most one call per 5 s over 60 s, and the broker kept trying (${calls})`)
  h.lwa.setFault(null)
  h.clock.advance(Number(failures.at(-1)?.retryAfter) * 1000)
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200, 'served once the wait is over')
})

t.test('consecutive failures back off exponentially, and a success resets the circuit', async (t) => {
  const h = await build(t, { config: oneAttempt })
  h.lwa.setFault({ kind: 'reset' })
  const gaps: number[] = []
  for (let i = 0; i < 6; i++) {
    await h.getToken('ads-us', await h.jwt(platform))
    const err = h.services.status.list().find((s) => s.credential === 'ads-us')?.lastError
    gaps.push((err?.retryAtMs ?? 0) - (err?.atMs ?? 0))
    h.clock.advance(gaps[i] ?? 0)
  }
  // random is pinned at 0.5: half of min(cap 120 s, 1 s × 2^(n-1)), never below the 1 s base.
  t.same(gaps, [1000, 1000, 2000, 4000, 8000, 16000])
  h.lwa.setFault(null)
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
  t.equal(h.services.status.list().find((s) => s.credential === 'ads-us')?.lastError, undefined)
})

t.test('a slow LWA: no caller waits past the request deadline, and the late token is kept', async (t) => {
  const h = await build(t, { config: (c) => ({ ...oneAttempt(c), tokens: { ...(c.tokens as object), requestDeadlineMs: 200 } }) })
  h.lwa.failNext({ kind: 'slow', ms: 800 })
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'upstream_unavailable')
  t.match(res.json().message, /within 200 ms/)
  t.ok(res.headers['retry-after'])
  await h.services.tokens.settled()
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200, 'the refresh finished in the background')
  t.equal(h.lwa.callCount(), 1, 'and was not repeated')
})
