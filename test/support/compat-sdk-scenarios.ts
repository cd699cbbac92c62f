// The four scenarios every SDK compatibility test runs (issue 20, item 3), for each grant the
// SDK serves: its calls get the broker's token; a cached token near its end is not handed to an
// SDK that would outlive it; a slow LWA is a 503 the SDK sees before its own timeout; a broker
// restart does not break it. Tokens are compared with t.ok, never printed.
import t from 'tap'
import { fixtures } from '../helper.js'
import { processFixture, startBroker } from './broker-process.js'
import {
  apiEmulators, assertSdkWillNotOutliveToken, processJwt, sdkEnv, inProcessWorld,
  type Grant, type InProcessWorld, type SdkSpec,
} from './compat-sdk-fixture.js'
import { freePort } from './redis-server.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]
type SdkFactory = NonNullable<SdkSpec['clients'][Grant]>

const lwaLifetimeMs = 3600_000
/** How much longer than the broker's deadline LWA takes in the slow scenario. */
const beyondDeadlineMs = 2500
/** The cached token's life left when the aging scenario's SDK asks. */
const nearEndMs = 300_000

export function compatSdkTests(spec: SdkSpec): void {
  for (const [grant, client] of Object.entries(spec.clients) as Array<[Grant, SdkFactory]>) {
    const title = `${spec.name}, ${grant === 'seller' ? 'refresh_token' : 'grantless'} grant`
    t.test(`${title}: its API calls carry the broker's token; only the LWA call reaches the broker`, async (t) => {
      const w = await inProcessWorld(t, spec, grant)
      const sdk = client(w.env)
      t.ok(await sdk.call(), 'the first call answered')
      t.ok(await sdk.call(), 'the second too, from the SDK\'s cache')
      t.same(w.brokerRequests, ['POST /auth/o2/token'], 'one request reached the broker: the LWA call')
      t.match(w.answers, [{ status: 200 }])
      t.equal(w.apiCalls().length, 2)
      expectApiCallsWith(t, w, w.answers[0]?.accessToken, 2)
      t.equal(w.lwa.callCount(), 1, 'the broker asked LWA once')
    })

    t.test(`${title}: a cached token near its end is not handed to an SDK that would outlive it`, async (t) => {
      const w = await inProcessWorld(t, spec, grant)
      await client(w.env).call()
      w.clock.advance(lwaLifetimeMs - nearEndMs)
      const fresh = client(w.env) // a new process of the caller: nothing cached in the SDK
      await fresh.call()
      const handed = w.answers.at(-1)
      t.ok(handed && handed !== w.answers[0], 'the second SDK asked the broker')
      if (handed) assertSdkWillNotOutliveToken(t, w, spec, handed)
      expectApiCallsWith(t, w, handed?.accessToken, 1)
      if (spec.cacheRule.kind === 'until-rejected') await recoversFromExpiry(t, w, fresh)
    })

    t.test(`${title}: a slow LWA is a JSON 503 with Retry-After before the SDK's own timeout`, async (t) => {
      const w = await inProcessWorld(t, spec, grant)
      const sdk = client(w.env)
      const slowLwaMs = w.h.config.lwaCompat.deadlineMs + beyondDeadlineMs
      w.lwa.setFault({ kind: 'slow', ms: slowLwaMs })
      const started = Date.now()
      const err: unknown = await sdk.call().then(() => undefined, (e: unknown) => e)
      const elapsedMs = Date.now() - started
      t.ok(err !== undefined, 'the call failed')
      const seen = spec.surfaced(err)
      t.match(seen, { error: 'temporarily_unavailable', timedOut: false }, 'the SDK surfaced LWA\'s JSON error')
      t.match(w.answers, [{ status: 503, error: 'temporarily_unavailable', retryAfter: /^\d+$/ }])
      if (seen.status !== undefined) { // an SDK that keeps the HTTP answer hands its caller the status and Retry-After
        t.equal(seen.status, 503)
        t.equal(seen.retryAfter, w.answers[0]?.retryAfter)
      }
      t.ok(elapsedMs < slowLwaMs, `answered after ${elapsedMs} ms, before LWA did`)
      if (spec.lwaTimeoutMs !== undefined) t.ok(elapsedMs < spec.lwaTimeoutMs, 'and before the SDK\'s timeout')
      w.lwa.setFault(null)
      t.ok(await sdk.call(), 'a later call succeeds once LWA is fast again')
      const last = w.answers.at(-1)
      t.equal(last?.status, 200)
      expectApiCallsWith(t, w, last?.accessToken, 1)
    })

    t.test(`${title}: the SDK keeps working across a broker restart`, async (t) => {
      await acrossRestart(t, spec, grant, client)
    })
  }
}

/** The emulator's last `count` API calls succeeded with exactly `token`. */
function expectApiCallsWith(t: Test, w: InProcessWorld, token: string | undefined, count: number): void {
  const calls = w.apiCalls().slice(-count)
  t.equal(calls.length, count, `${count} API calls`)
  t.ok(token !== undefined && calls.every((c) => c.status === 200 && c.accessToken === token),
    `${count === 1 ? 'it' : 'each'} answered 200 to exactly the broker's token`)
}

/** An SDK with no clock keeps its token past expiry: the API's refusal must send it back to the broker. */
async function recoversFromExpiry(t: Test, w: InProcessWorld, sdk: ReturnType<SdkFactory>) {
  w.clock.advance(lwaLifetimeMs + 1000)
  const before = w.answers.length
  t.ok(await sdk.call(), 'a call after the token expired still answers')
  const calls = w.apiCalls().slice(-2)
  t.match(calls, [{ status: 403 }, { status: 200 }], 'refused as expired, then accepted')
  const renewed = w.answers.at(-1)
  t.ok(w.answers.length === before + 1 && renewed?.status === 200, 'the SDK asked the broker again')
  t.ok(renewed?.accessToken !== undefined && calls[1]?.accessToken === renewed.accessToken, 'and used its new token')
}

async function acrossRestart(t: Test, spec: SdkSpec, grant: Grant, client: SdkFactory) {
  const port = await freePort()
  const fx = await processFixture(t, (c) => ({ ...c, listen: { host: '127.0.0.1', port } }))
  const { spApi, ads } = await apiEmulators(t, fx.lwa)
  let broker = startBroker(fx.configPath)
  t.teardown(() => { broker.child.kill('SIGKILL') })
  const brokerUrl = await broker.listening()
  const { apiCalls, ...env } = sdkEnv(t, spec, grant, { brokerUrl, spApi, ads, jwt: await processJwt(fx.keys) })
  const sdk = client(env)
  t.ok(await sdk.call(), 'a call before the restart')
  broker.child.kill('SIGTERM')
  await broker.exited
  const logs = [broker.output()]
  t.ok(await sdk.call(), 'a call while the broker is away, on the SDK\'s cached token')
  broker = startBroker(fx.configPath)
  await broker.listening()
  await sdk.forget()
  t.ok(await sdk.call(), 'a call after the restart, on a token from the new process')
  const calls = apiCalls()
  t.equal(calls.length, 3)
  t.ok(calls.every((c) => c.status === 200 && c.accessToken !== undefined && fx.lwa.grantOf(c.accessToken)),
    'each answered 200 to a token LWA minted for the broker')
  t.equal(new Set(calls.map((c) => c.accessToken)).size, 2, 'the new process\'s token after the restart')
  t.equal(fx.lwa.callCount({ ok: true }), 2, 'one LWA call per broker process')
  const { adsClient, spClient, adsRefreshToken, spRefreshToken } = fixtures
  const secrets = [env.jwt, adsClient.clientSecret, spClient.clientSecret, adsRefreshToken, spRefreshToken,
    ...calls.flatMap((c) => c.accessToken ?? [])]
  const written = [...logs, broker.output()].map(({ stdout, stderr }) => stdout + stderr).join('\n')
  t.ok(secrets.every((secret) => !written.includes(secret)), 'no JWT, token or secret in the broker\'s logs')
}
