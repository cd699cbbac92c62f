// The caller client's cache, retry and profile policy, against an in-process broker on a loopback port
// with the LWA and Ads emulators, all on one fake clock the client reads and its sleeps advance.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { BrokerClient, BrokerClientError, type BrokerClientOptions, type BrokerToken } from '../../src/client/index.js'
import { adsBroker, adsProfile } from '../support/ads-broker.js'
import type { FakeClock } from '../support/fake-clock.js'
import { freePort } from '../support/redis-server.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const scope = 'Amazon-Advertising-API-Scope'
const usId = '1111000000000001'
const deId = '1111000000000002'
interface Exchange { asked: URL[]; answers: Array<{ status: number; retryAfter: string | null }> }

/**
 * `fetch` recording what is asked of the broker at `url` and what it answers; `hold` keeps a request from the
 * broker until the promise it gives settles.
 */
function recordingFetch(url: string, { asked, answers }: Exchange, hold?: (asked: URL) => Promise<void> | undefined):
  typeof fetch {
  return async (input, init) => {
    if (!String(input).startsWith(url)) return fetch(input, init)
    const request = new URL(String(input))
    asked.push(request)
    await hold?.(request)
    const response = await fetch(input, init)
    answers.push({ status: response.status, retryAfter: response.headers.get('retry-after') })
    return response
  }
}

/**
 * The broker and a factory of clients of it that record their exchanges with it, and sleep by advancing the clock
 * (`delays`). Jitter is 0 unless a test injects its own `random`.
 */
async function brokerAndClients(t: Test) {
  const h = await adsBroker(t, [adsProfile(usId), adsProfile(deId)])
  const { lwa, ads, clock } = h
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const exchange: Exchange = { asked: [], answers: [] }
  const delays: number[] = []
  const client = (options: Partial<BrokerClientOptions> = {}, hold?: Parameters<typeof recordingFetch>[2]) =>
    new BrokerClient({
      url, jwt: () => h.jwt(platform), now: () => clock.now(), random: () => 0,
      fetch: recordingFetch(url, exchange, hold),
      sleep: async (ms) => {
        delays.push(ms)
        clock.advance(ms)
      },
      ...options,
    })
  return { h, lwa, ads, clock, ...exchange, delays, client }
}

const secondsLeft = (token: BrokerToken, clock: FakeClock) => (token.expiresAtMs - clock.now()) / 1000

t.test('a token comes from the client\'s cache while min_ttl is left, then from the broker', async (t) => {
  const { clock, asked, client: newClient } = await brokerAndClients(t)
  const client = newClient()
  const first = await client.getToken({ credential: 'sp-acme-eu' })
  t.equal(secondsLeft(first, clock), 3600)

  clock.advance(3000_000)
  const cached = await client.getToken({ credential: 'sp-acme-eu', minTtlSeconds: 600 })
  t.equal(cached.token, first.token, '600 s left, min_ttl 600: the cached token')
  t.equal(asked.length, 1, 'without asking the broker')
  const fresher = await client.getToken({ credential: 'sp-acme-eu', minTtlSeconds: 601 })
  t.equal(asked.length, 2, 'min_ttl 601: the broker is asked')
  t.equal(asked[1]?.searchParams.get('min_ttl'), '601', 'for that min_ttl')
  t.not(fresher.token, first.token)

  clock.advance(fresher.expiresAtMs - clock.now() - 60_000)
  const stillCached = await client.getToken({ credential: 'sp-acme-eu' })
  t.equal(stillCached.token, fresher.token, 'the default min_ttl 60: still cached')
  t.equal(asked.length, 2)
  clock.advance(1)
  const renewed = await client.getToken({ credential: 'sp-acme-eu' })
  t.equal(asked.length, 3, 'a millisecond under 60 s left: the broker is asked')
  t.equal(secondsLeft(renewed, clock), 3600, 'and its fresh token is the one returned')
})

t.test('a 503 with Retry-After is retried once, after the delay it asks for: the caller gets the token', async (t) => {
  const { lwa, answers, delays, client: newClient } = await brokerAndClients(t)
  const retries: unknown[] = []
  const client = newClient({ onRetry: (retry) => retries.push(retry) })
  // LWA's 429 makes the broker answer 503, with a Retry-After until LWA's wait is over.
  lwa.failNext({ kind: 'status', status: 429, retryAfter: '5' })

  const token = await client.getToken({ credential: 'appstore-main' })
  t.match(token.headers.Authorization, /^Bearer Atc\|/)
  t.same(answers.map((a) => a.status), [503, 200], 'one retry')
  const retryAfter = Number(answers[0]?.retryAfter)
  t.ok(retryAfter >= 5, `the broker asked for LWA's wait at least (${retryAfter} s)`)
  t.same(delays, [retryAfter * 1000], 'the client waited exactly that (jitter 0)')
  t.same(retries, [{ attempt: 1, code: 'upstream_unavailable', status: 503, delayMs: retryAfter * 1000 }])
})

t.test('an Ads profile is asked for, scopes the answer\'s headers and the fetch helper\'s call', async (t) => {
  const { ads, asked, client: newClient } = await brokerAndClients(t)
  const client = newClient()
  const us = await client.getToken({ credential: 'ads-us', profile: usId })
  t.equal(asked.at(-1)?.searchParams.get('profile'), usId, 'the request names the profile')
  t.equal(us.headers[scope], usId)
  const de = await client.getToken({ credential: 'ads-us', profile: deId })
  t.equal(de.headers[scope], deId, 'another profile is another cache entry')
  t.equal(de.token, us.token, 'with the one access token')
  const plain = await client.getToken({ credential: 'ads-us' })
  t.equal(plain.headers[scope], '2502259796', 'no profile: the credential\'s fixed profileId')
  t.equal(asked.length, 3)

  const campaigns = await client.fetch(`${ads.url}/v2/campaigns`, {}, { credential: 'ads-us', profile: deId })
  t.equal(campaigns.status, 200)
  t.equal(ads.calls.at(-1)?.profileId, deId, 'the Ads API was called in the profile\'s scope')
  t.equal(asked.length, 3, 'with the cached token')
})

t.test('without Retry-After the delay is full jitter: random × the doubling ceiling, capped', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}` // nothing listens: every attempt is `unreachable`
  const delaysWith = async (random: number) => {
    const delays: number[] = []
    const client = new BrokerClient({
      url, jwt: () => 'unused', retries: 6, baseDelayMs: 200, maxDelayMs: 5000, random: () => random,
      sleep: async (ms) => { delays.push(ms) },
    })
    const err = await client.getToken({ credential: 'sp-acme-eu' }).catch((e: unknown) => e)
    t.ok(err instanceof BrokerClientError)
    t.match(err, { code: 'unreachable', status: 0 }, 'after the last retry, the error')
    return delays
  }
  // Ceilings 200, 400, 800, 1600, 3200, then the 5000 cap.
  t.same(await delaysWith(0.25), [50, 100, 200, 400, 800, 1250])
  t.same(await delaysWith(0.75), [150, 300, 600, 1200, 2400, 3750])
})

t.test('a caller needing a longer min_ttl than the flight under way asks the broker itself', async (t) => {
  const { h, clock, asked, client: newClient } = await brokerAndClients(t)
  t.equal((await h.getToken('sp-acme-eu', await h.jwt(platform))).statusCode, 200, 'the broker holds a token')
  clock.advance(1000_000)
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => { release = resolve })
  // The min_ttl 3000 request is held until the min_ttl 60 one has landed, whatever the machine's speed.
  const client = newClient({}, (request) => (request.searchParams.get('min_ttl') === '3000' ? held : undefined))
  const target = (minTtlSeconds?: number) => ({ credential: 'sp-acme-eu', ...(minTtlSeconds ? { minTtlSeconds } : {}) })

  const short = client.getToken(target())
  const joiners = [client.getToken(target(3000)), client.getToken(target(3000)), client.getToken(target(30))]
  t.equal(secondsLeft(await short, clock), 2600, 'min_ttl 60: the broker\'s cached token')
  const late = client.getToken(target(3000))
  release()
  const [long, ...joined] = await Promise.all([...joiners, late])
  t.ok(long && secondsLeft(long, clock) >= 3000, 'min_ttl 3000: a token with that much left')
  t.same(asked.map((u) => u.searchParams.get('min_ttl')).sort(), ['3000', '60'], 'one broker request per min_ttl needing one, in whichever order they arrive')
  t.same(joined.map((token) => token.token === long?.token), [true, true, true],
    'an equal min_ttl, a shorter one, and one after the short flight landed all join the longer flight')
})
