// Someone who can write to Redis but does not hold the token-encryption key plays the
// attacker here, with a plain client. What it publishes on the events channel does not steer
// the replicas; the locks, tokens and rate-limit counters it writes may cost LWA calls or a
// little time, never a caller its token or its rate limit for good. Each test name says
// which, for the README's account of what Redis write access allows.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import t from 'tap'
import { PeerSigner, peerMessageMaxSkewMs } from '../../src/cache/peer-messages.js'
import { sharedLockTtlMs } from '../../src/tokens/index.js'
import { baseSecrets, build, fixtures, issuerUrl, type Harness } from '../helper.js'
import { RedisServer } from '../support/redis-server.js'
import { admin, deployment, eventually, platform, withAdminRule } from './fixtures/deployment.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

/** Long enough for a message the listener heard to have been handled by every replica too. */
const settleMs = 30

const adminCall = async (h: Harness, url: string) =>
  h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${await h.jwt(admin)}` } })

function plainClient(t: Test): Redis {
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  return client
}

/** The attacker's ears and mouth on the events channel: it hears what replicas say and can say anything. */
async function eavesdrop(t: Test, keyPrefix: string) {
  const channel = `${keyPrefix}events`
  const listener = plainClient(t)
  const mouth = plainClient(t)
  const heard: string[] = []
  const said = new Set<string>()
  listener.on('message', (on: string, text: string) => { if (on === channel) heard.push(text) })
  await listener.subscribe(channel)
  // Waits for `count` messages (at most eventually()'s 2 s: one never sent shows in what follows).
  const settled = async (count: number): Promise<void> => {
    await eventually(async () => heard.length >= count)
    await new Promise((resolve) => setTimeout(resolve, settleMs))
  }
  return {
    heard,
    /** What the replicas said (not the attacker) of one kind, heard so far. */
    genuine: (kind: string) => heard.filter((m) => !said.has(m) && m.includes(`"kind":"${kind}"`)),
    /** Publishes, and returns once every subscriber has had it. */
    async say(text: string): Promise<void> {
      said.add(text)
      await mouth.publish(channel, text)
      await settled(heard.length + 1)
    },
    settled,
  }
}

/** Forgeries of "secrets were reloaded", by someone without the key. */
function forgeries(nowMs: number): string[] {
  const payload = JSON.stringify({ from: 'attacker', id: 'f0rged', at: nowMs, message: { kind: 'secrets_reloaded' } })
  return [
    // The format replicas spoke before messages were signed.
    JSON.stringify({ from: 'x', message: { kind: 'secrets_reloaded' } }),
    `garbage.${payload}`,
    // Well-formed in every way, signed with a key of the attacker's own.
    new PeerSigner(randomBytes(32), () => nowMs).encode('attacker', { kind: 'secrets_reloaded' }),
  ]
}

const fixedRefreshToken = 'Atzr|IwEBIAds-refresh-token-fixed'

/** The operator fixes the rejected credential's secret (not yet reloaded anywhere). */
function fixSecret(h: Harness): void {
  h.lwa.addRefreshToken({ refreshToken: fixedRefreshToken, clientId: fixtures.adsClient.clientId })
  h.writeSecrets({ ...baseSecrets(), 'lwa/ads-us': { client_id: fixtures.adsClient.clientId, client_secret: fixtures.adsClient.clientSecret, refresh_token: fixedRefreshToken } })
}

t.test('Redis contents are trusted: forged secrets_reloaded messages (unsigned, bad signature, wrong key) no longer reset a failing credential\'s backoff; a genuine reload still reaches the other replicas', async (t) => {
  const d = await deployment(t, redis, 2, { config: withAdminRule })
  const [a, b] = d.replicas as [Harness, Harness]
  const attacker = await eavesdrop(t, d.keyPrefix)
  const jwt = await b.jwt(platform)
  a.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502, 'LWA rejects the credential')
  t.equal(a.lwa.callCount(), 1)

  const statuses: number[] = []
  for (let i = 0; i < 20; i++) {
    await attacker.say(forgeries(b.clock.now())[i % 3] as string)
    statuses.push((await b.getToken('ads-us', jwt)).statusCode)
  }
  t.same(new Set(statuses), new Set([502]), 'every request inside the retry window is answered from memory')
  t.equal(a.lwa.callCount(), 1, '20 forged reloads and 20 requests: no more LWA calls than without them (each forged reload used to cost one)')

  fixSecret(a)
  const before = attacker.heard.length
  t.equal((await adminCall(a, '/admin/secrets/reload')).statusCode, 200)
  await attacker.settled(before + 1)
  t.equal(attacker.genuine('secrets_reloaded').length, 1, 'the genuine reload went out')
  t.ok(await eventually(async () => (await b.getToken('ads-us', jwt)).statusCode === 200), 'replica b retries at once and is served')
  t.equal(a.lwa.callCount(), 2, 'b made exactly one more LWA call, for the genuine reload')
})

t.test('Redis contents are trusted: a captured genuine reload replayed on the channel is acted on once, not again', async (t) => {
  const d = await deployment(t, redis, 2, { config: withAdminRule })
  const [a, b] = d.replicas as [Harness, Harness]
  const attacker = await eavesdrop(t, d.keyPrefix)
  const jwt = await b.jwt(platform)
  a.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502)

  t.equal((await adminCall(a, '/admin/secrets/reload')).statusCode, 200)
  await attacker.settled(1)
  const [captured] = attacker.genuine('secrets_reloaded')
  t.ok(captured, 'the attacker captured the genuine message')
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502, 'still rejected by LWA...')
  t.equal(a.lwa.callCount(), 2, '...but b retried at once: it acted on the genuine message')

  for (let i = 0; i < 2; i++) {
    await attacker.say(captured as string)
    t.equal((await b.getToken('ads-us', jwt)).statusCode, 502)
  }
  t.equal(a.lwa.callCount(), 2, 'the message replayed twice: no further LWA call')
})

t.test('Redis contents are trusted: a captured genuine message older than peerMessageMaxSkewMs is ignored, even by a replica that never saw it', async (t) => {
  const d = await deployment(t, redis, 1, { config: withAdminRule })
  const a = d.replicas[0] as Harness
  const attacker = await eavesdrop(t, d.keyPrefix)
  t.equal((await adminCall(a, '/admin/secrets/reload')).statusCode, 200)
  await attacker.settled(1)
  const [captured] = attacker.genuine('secrets_reloaded')
  t.ok(captured, 'captured while only replica a was running')

  a.clock.advance(peerMessageMaxSkewMs + 1000)
  // Started after the capture: the message is new to b, only its age can give it away.
  const b = await build(t, { config: withAdminRule, lwa: a.lwa, clock: a.clock, redis: { connection: redis.connection, key: d.key, keyPrefix: d.keyPrefix } })
  const jwt = await b.jwt(platform)
  a.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502)
  t.equal(a.lwa.callCount(), 1)

  await attacker.say(captured as string)
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 502)
  t.equal(a.lwa.callCount(), 1, 'the stale message did not reset b\'s backoff')

  fixSecret(a)
  t.equal((await adminCall(a, '/admin/secrets/reload')).statusCode, 200)
  t.ok(await eventually(async () => (await b.getToken('ads-us', jwt)).statusCode === 200), 'a fresh reload from a does reach b')
  t.equal(a.lwa.callCount(), 2)
})

t.test('Redis contents are trusted: every replica is equal for re-connection: reconnected() on one replica drops the token on the others and in Redis', async (t) => {
  const d = await deployment(t, redis, 2)
  const [a, b] = d.replicas as [Harness, Harness]
  const attacker = await eavesdrop(t, d.keyPrefix)
  const raw = plainClient(t)
  const jwt = await a.jwt(platform)
  const old = (await a.getToken('ads-us', jwt)).json().access_token as string
  t.equal((await b.getToken('ads-us', jwt)).json().access_token, old, 'b serves a\'s token')
  t.equal(a.lwa.callCount(), 1)
  t.equal(await raw.exists(`${d.keyPrefix}token:{ads-us}`), 1)

  const before = attacker.heard.length
  await a.services.tokens.reconnected('ads-us')
  t.equal(await raw.exists(`${d.keyPrefix}token:{ads-us}`), 0, 'the shared token is deleted from Redis')
  await attacker.settled(before + 1)
  const fresh = (await b.getToken('ads-us', jwt)).json().access_token as string
  t.not(fresh, old, 'b no longer serves the previous account\'s token')
  t.equal(a.lwa.callCount(), 2, 'b made a fresh LWA call')
  t.equal((await a.getToken('ads-us', jwt)).json().access_token, fresh, 'a takes b\'s new token')
  t.equal(a.lwa.callCount(), 2, 'two LWA calls in all')
})

/** Well under the 5 s a waiter would give a lock (half the default 10 s deadline). */
const noWaitMs = 3000

const adsCalls = (h: Harness): number => h.lwa.callCount({ clientId: fixtures.adsClient.clientId })
const spCalls = (h: Harness): number => h.lwa.callCount({ clientId: fixtures.spClient.clientId, grantType: 'refresh_token' })

t.test('Redis contents are trusted: a forged refresh lock (no TTL, or a TTL of an hour) no longer makes cold callers wait: served at once, one LWA call, the lock gone', async (t) => {
  const d = await deployment(t, redis, 2)
  const [a, b] = d.replicas as [Harness, Harness]
  const raw = plainClient(t)
  const jwt = await a.jwt(platform)
  const forged = [
    { credential: 'ads-us', lock: () => raw.set(`${d.keyPrefix}lock:{ads-us}`, 'x'), calls: adsCalls, how: 'without TTL' },
    { credential: 'sp-acme-eu', lock: () => raw.set(`${d.keyPrefix}lock:{sp-acme-eu}`, 'x', 'PX', 3_600_000), calls: spCalls, how: 'with a TTL of an hour' },
  ]
  for (const { credential, lock, calls, how } of forged) {
    await lock()
    const t0 = performance.now()
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? b : a).getToken(credential, jwt)))
    const ms = performance.now() - t0
    t.same(answers.map((r) => r.statusCode), Array<number>(6).fill(200), `${credential}, lock ${how}: every cold caller on both replicas served`)
    t.ok(ms < noWaitMs, `without waiting on the forged lock (${Math.round(ms)} ms)`)
    t.equal(calls(a), 1, 'one LWA call for both replicas')
    t.equal(new Set(answers.map((r) => r.json().access_token as string)).size, 1, 'one token')
    const ttl = await raw.pttl(`${d.keyPrefix}lock:{${credential}}`)
    t.ok(ttl === -2 || (ttl > 0 && ttl <= sharedLockTtlMs), `the forged lock is gone (PTTL ${ttl})`)
  }
})

t.test('Redis contents are trusted: a forged lock a replica could have set (TTL of 30 s or less) can still make a cold caller wait, up to half its deadline, but not fail it', async (t) => {
  const deadlineMs = 1000
  const d = await deployment(t, redis, 1, { config: (c) => ({ ...c, tokens: { ...(c.tokens as object), requestDeadlineMs: deadlineMs } }) })
  const a = d.replicas[0] as Harness
  const raw = plainClient(t)
  await raw.set(`${d.keyPrefix}lock:{ads-us}`, 'x', 'PX', sharedLockTtlMs)
  const t0 = performance.now()
  const answer = await a.getToken('ads-us', await a.jwt(platform))
  const ms = performance.now() - t0
  t.equal(answer.statusCode, 200, `served within its ${deadlineMs} ms deadline (${Math.round(ms)} ms)`)
  t.equal(adsCalls(a), 1, 'the replica gave up waiting and asked LWA itself')
})

t.test('Redis contents are trusted: a forged token stamped far in the future no longer stops replicas sharing: b takes a\'s token, the forgery is replaced', async (t) => {
  const d = await deployment(t, redis, 2)
  const [a, b] = d.replicas as [Harness, Harness]
  const raw = plainClient(t)
  const key = `${d.keyPrefix}token:{ads-us}`
  const forgedAt = Number.MAX_SAFE_INTEGER
  await raw.set(key, `${forgedAt}:garbage`)
  const jwt = await a.jwt(platform)
  const token = (await a.getToken('ads-us', jwt)).json().access_token as string
  t.equal((await b.getToken('ads-us', jwt)).json().access_token, token, 'b serves a\'s token')
  t.equal(adsCalls(a), 1, 'one LWA call for both replicas')
  const stored = await raw.get(key) as string
  t.equal(stored.slice(0, stored.indexOf(':')), String(a.clock.now()), 'the forged value is replaced by a\'s token')
  t.ok(await raw.pttl(key) > 0, 'which expires')
  t.equal(a.logs.find((r) => r.credential === 'ads-us' && r.msg === 'shared token store unavailable; refreshing locally').length, 1,
    'a logged the unreadable value once')
})

t.test('Redis contents are trusted: a forged token stamped less than a lifetime ahead can stop sharing (one LWA call per replica) but never fails a caller', async (t) => {
  const d = await deployment(t, redis, 2)
  const [a, b] = d.replicas as [Harness, Harness]
  const raw = plainClient(t)
  await raw.set(`${d.keyPrefix}token:{ads-us}`, `${a.clock.now() + 10 * 60_000}:garbage`)
  const jwt = await a.jwt(platform)
  t.equal((await a.getToken('ads-us', jwt)).statusCode, 200)
  t.equal((await b.getToken('ads-us', jwt)).statusCode, 200)
  t.equal(adsCalls(a), 2, 'each replica refreshed for itself')
  for (const h of [a, b]) {
    t.equal(h.logs.find((r) => r.credential === 'ads-us' && r.msg === 'shared token store unavailable; refreshing locally').length, 1, 'and logged why')
  }
  t.equal((await a.getToken('ads-us', jwt)).statusCode, 200)
  t.equal(adsCalls(a), 2, 'each then serves its own token from memory')
})

t.test('Redis contents are trusted: a forged rate-limit counter (huge without TTL, not a number, or with an hour\'s TTL) neither 429s a caller past one window nor switches the limit off', async (t) => {
  const d = await deployment(t, redis, 2, { config: (c) => ({ ...c, rateLimit: { max: 3, unauthenticatedMax: 100, timeWindowSeconds: 60 } }) })
  const [a, b] = d.replicas as [Harness, Harness]
  const raw = plainClient(t)
  const forgeries: Array<[string, (key: string) => Promise<unknown>]> = [
    ['1000000 without TTL', (key) => raw.set(key, '1000000')],
    ['abc without TTL', (key) => raw.set(key, 'abc')],
    ['abc within a window', (key) => raw.set(key, 'abc', 'PX', 30_000)],
    ['1000000 for an hour', (key) => raw.set(key, '1000000', 'PX', 3_600_000)],
  ]
  for (const [i, [how, forge]] of forgeries.entries()) {
    const subject = `system:serviceaccount:ads:forged-${i}`
    const key = `${d.keyPrefix}fastify-rate-limit-caller:${issuerUrl} ${subject}`
    await forge(key)
    const jwt = await a.jwt({ claims: { sub: subject } })
    const answers = []
    for (let n = 0; n < 6; n++) answers.push(await (n % 2 ? b : a).getToken('ads-us', jwt))
    t.same(answers.map((r) => r.statusCode), [200, 200, 200, 429, 429, 429], `counter ${how}: started over, and the limit of 3 holds across both replicas`)
    const retryAfter = Number(answers[3]?.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= 60, `the 429 says retry within one window (${retryAfter} s)`)
    const ttl = await raw.pttl(key)
    t.ok(ttl > 0 && ttl <= 60_000, `the counter now expires with the window (PTTL ${ttl})`)
  }
})
