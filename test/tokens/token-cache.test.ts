import t from 'tap'
import { TokenCache, TokenTooShortError, type Expiring } from '../../src/tokens/index.js'
import { FakeClock } from '../support/fake-clock.js'

interface Tok extends Expiring {
  value: string
}

const hourMs = 3600_000

/** A loader whose calls the test can count and finish by hand. */
function controlledLoader(clock: FakeClock, lifetimeMs = hourMs) {
  const pending: Array<{ resolve: (t: Tok) => void; reject: (e: unknown) => void }> = []
  let calls = 0
  /** What each call was told its token must have left. */
  const needs: number[] = []
  /** The keys asked for, and whether an operator forced each load. */
  const asked: Array<{ key: string; force: boolean }> = []
  return {
    get calls() {
      return calls
    },
    needs,
    asked,
    load: (key: string, minLeftMs: number, force: boolean): Promise<Tok> => {
      calls++
      needs.push(minLeftMs)
      asked.push({ key, force })
      return new Promise<Tok>((resolve, reject) => pending.push({ resolve, reject }))
    },
    /** Finishes the oldest pending call with a token obtained now (or `ageMs` ago, as another replica's may be). */
    succeed(value = `token-${calls}`, lifetime = lifetimeMs, ageMs = 0): void {
      const obtainedAtMs = clock.now() - ageMs
      pending.shift()?.resolve({ value, obtainedAtMs, expiresAtMs: obtainedAtMs + lifetime })
    },
    fail(error: unknown): void {
      pending.shift()?.reject(error)
    },
  }
}

function setup(retryDelayMs = 10_000) {
  const clock = new FakeClock()
  const backgroundErrors: unknown[] = []
  const loader = controlledLoader(clock)
  const cache = new TokenCache<Tok>({
    clock,
    refreshAheadRatio: 0.5,
    refreshJitterRatio: 0,
    random: () => 0.5,
    retryDelayMs: () => retryDelayMs,
    onBackgroundError: (_key, err) => backgroundErrors.push(err),
    load: loader.load,
  })
  return { clock, cache, loader, backgroundErrors }
}

/** Lets queued promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve))

t.test('200 concurrent misses share exactly one load', async (t) => {
  const { cache, loader } = setup()
  const callers = Array.from({ length: 200 }, () => cache.get('ads-us', 60_000))
  await tick()
  t.equal(loader.calls, 1)
  loader.succeed('only-one')
  const tokens = await Promise.all(callers)
  t.ok(tokens.every((tok) => tok.value === 'only-one'))
  t.equal(loader.calls, 1)
})

t.test('keys are independent', async (t) => {
  const { cache, loader } = setup()
  const a = cache.get('a', 0)
  const b = cache.get('b', 0)
  await tick()
  t.equal(loader.calls, 2)
  loader.succeed('for-a')
  loader.succeed('for-b')
  t.equal((await a).value, 'for-a')
  t.equal((await b).value, 'for-b')
})

t.test('refresh-ahead: past half the lifetime one background load runs and nobody waits', async (t) => {
  const { clock, cache, loader } = setup()
  const first = cache.get('k', 60_000)
  loader.succeed('first')
  await first

  clock.advance(hourMs / 2 - 1000)
  t.equal((await cache.get('k', 60_000)).value, 'first', 'before half-life: cached')
  t.equal(loader.calls, 1, 'no refresh before half-life')

  clock.advance(2000)
  // The background load is still pending, yet every caller gets the current token at once.
  const during = await Promise.all(Array.from({ length: 50 }, () => cache.get('k', 60_000)))
  t.ok(during.every((tok) => tok.value === 'first'))
  t.equal(loader.calls, 2, 'exactly one background refresh')

  loader.succeed('second')
  await cache.settled()
  t.equal((await cache.get('k', 60_000)).value, 'second')
  t.equal(loader.calls, 2)
})

t.test('min_ttl larger than what is left forces a refresh and the caller gets the new token', async (t) => {
  const { clock, cache, loader } = setup()
  const first = cache.get('k', 60_000)
  loader.succeed('first')
  await first
  clock.advance(hourMs - 200_000) // 200 s left

  t.equal((await cache.get('k', 100_000)).value, 'first', '200 s left satisfies min_ttl 100 s')
  const waiting = cache.get('k', 300_000)
  await tick()
  loader.succeed('fresh')
  const tok = await waiting
  t.equal(tok.value, 'fresh')
  t.ok(tok.expiresAtMs - clock.now() >= 300_000)
})

t.test('a caller joining a load that brings too little for its min_ttl gets a load of its own, told what it needs', async (t) => {
  const { cache, loader } = setup()
  const modest = cache.get('k', 60_000)
  const demanding = cache.get('k', 3300_000)
  await tick()
  t.same(loader.needs, [60_000], 'one load for both, begun with the first caller\'s need')
  loader.succeed('older', hourMs, 1000_000) // 2600 s left: another replica's token
  t.equal((await modest).value, 'older', 'enough for min_ttl 60 s')
  await tick()
  t.same(loader.needs, [60_000, 3300_000], 'a second load, told the second caller\'s need')
  loader.succeed('fresh')
  t.equal((await demanding).value, 'fresh')
})

t.test('a fresh token that cannot satisfy min_ttl is refused, never handed out', async (t) => {
  const { cache, loader } = setup()
  const waiting = cache.get('k', 3000_000)
  await tick()
  loader.succeed('short', 600_000)
  await t.rejects(waiting, TokenTooShortError)
})

t.test('an expired token is a miss', async (t) => {
  const { clock, cache, loader } = setup()
  const first = cache.get('k', 0)
  loader.succeed('first')
  await first
  clock.advance(hourMs + 1)
  const next = cache.get('k', 0)
  await tick()
  t.equal(loader.calls, 2)
  loader.succeed('second')
  t.equal((await next).value, 'second')
})

t.test('a failed cold load reaches every waiter and is remembered until the retry time', async (t) => {
  const { clock, cache, loader } = setup(10_000)
  const waiters = [cache.get('k', 0), cache.get('k', 0)]
  await tick()
  const boom = new Error('lwa down')
  loader.fail(boom)
  for (const w of waiters) await t.rejects(w, boom)

  await t.rejects(cache.get('k', 0), boom, 'inside the retry window: same error, no load')
  t.equal(loader.calls, 1)
  t.equal(cache.peek('k').failure?.retryAtMs, clock.now() + 10_000)

  clock.advance(10_000)
  const retry = cache.get('k', 0)
  await tick()
  t.equal(loader.calls, 2, 'after the retry time: one new load')
  loader.succeed('recovered')
  t.equal((await retry).value, 'recovered')
  t.equal(cache.peek('k').failure, undefined)
})

t.test('a failed background refresh keeps serving the current token and backs off', async (t) => {
  const { clock, cache, loader, backgroundErrors } = setup(60_000)
  const first = cache.get('k', 60_000)
  loader.succeed('first')
  await first
  clock.advance(hourMs / 2 + 1)
  t.equal((await cache.get('k', 60_000)).value, 'first')
  loader.fail(new Error('lwa 503'))
  await cache.settled()
  await tick()
  t.equal(backgroundErrors.length, 1, 'the failure is reported')

  for (let i = 0; i < 20; i++) t.equal((await cache.get('k', 60_000)).value, 'first')
  t.equal(loader.calls, 2, 'no retry inside the retry window')

  clock.advance(60_000)
  t.equal((await cache.get('k', 60_000)).value, 'first')
  t.equal(loader.calls, 3, 'one retry once the window has passed')
  loader.succeed('second')
  await cache.settled()
  t.equal((await cache.get('k', 60_000)).value, 'second')
})

t.test('refreshNow loads at once, keeps serving the current token meanwhile, and keeps it if the load fails', async (t) => {
  const { cache, loader } = setup(60_000)
  const first = cache.get('k', 0)
  loader.succeed('first')
  await first
  const failing = cache.refreshNow('k')
  t.equal(loader.calls, 2)
  t.equal((await cache.get('k', 0)).value, 'first', 'served while the refresh runs')
  t.equal(cache.refreshNow('k'), failing, 'a second request joins the running one')
  loader.fail(new Error('lwa down'))
  await t.rejects(failing)
  t.equal((await cache.get('k', 0)).value, 'first', 'the current token survives a failed refresh')
  const ok = cache.refreshNow('k')
  t.equal(loader.calls, 3, 'an operator\'s refresh ignores the backoff')
  loader.succeed('second')
  t.equal((await ok).value, 'second')
  t.equal((await cache.get('k', 0)).value, 'second')
  t.same(loader.asked, [{ key: 'k', force: false }, { key: 'k', force: true }, { key: 'k', force: true }],
    'the one loader is told the key, and that an operator forced the refreshes')
})

t.test('retryNow lets the next request try again at once, keeping the failure on record until a success', async (t) => {
  const { cache, loader } = setup(60_000)
  const first = cache.get('k', 0)
  await tick()
  loader.fail(new Error('rejected'))
  await t.rejects(first)
  await t.rejects(cache.get('k', 0), 'inside the retry window')
  cache.retryNow('k')
  cache.retryNow('never-seen')
  t.equal(cache.peek('k').failure?.consecutive, 1, 'still on record')
  const next = cache.get('k', 0)
  await tick()
  t.equal(loader.calls, 2)
  loader.succeed('ok')
  t.equal((await next).value, 'ok')
  t.equal(cache.peek('k').failure, undefined, 'cleared by the success')
})
