// The app's client secret rotates itself, end to end with real SDK clients: an admin (or the
// expiry window) asks SP-API once, the new secret arrives on the SQS queue, is staged, checked
// with LWA, promoted, and every seller keeps being served throughout; the old secret retired
// afterwards still fails nothing.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { build, fixtures, seedEmulator, type BuildOptions, type Harness } from '../helper.js'
import { RedisServer } from '../support/redis-server.js'
import { newSecretType, notificationBody } from '../support/sp-api-notifications.js'
import { waitFor } from '../support/broker-process.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { SpApiEmulator } from '../support/sp-api-emulator.js'
import { SqsEmulator } from '../support/sqs-emulator.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const queue = 'lwa-broker-app-secrets'
const app = 'lwa/apps/sp'
const admin = { claims: { sub: 'system:serviceaccount:ops:admin' } }
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const dayMs = 86_400_000

interface Rig { h: Harness; sp: SpApiEmulator; sqs: SqsEmulator; lwa: LwaEmulator }

/** `sellers` more SP-API credentials of the same app, each with its own grant. */
async function rig(t: Test, rotation?: Record<string, unknown>, expiresInDays?: number, redis?: BuildOptions['redis'], sellers = 0): Promise<Rig> {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const sqs = await SqsEmulator.start({ msPerWaitSecond: 20 })
  t.teardown(() => sqs.close())
  sqs.createQueue(queue, { maxReceiveCount: 5 })
  const sp = await SpApiEmulator.start({ lwa, notify: (body) => void sqs.send(queue, body) })
  t.teardown(() => sp.close())
  sp.addApplication({ applicationId: 'amzn1.sp.solution.test', clientId: fixtures.spClient.clientId })
  const names = Array.from({ length: sellers }, (_, i) => `sp-seller-${i}`)
  for (const name of names) lwa.addRefreshToken({ refreshToken: `Atzr|IwEBI-${name}`, clientId: fixtures.spClient.clientId })
  const h = await build(t, {
    secretsBackend: 'aws', lwa, ...(redis ? { redis } : {}),
    secrets: (base) => {
      const s = { ...base, ...Object.fromEntries(names.map((n) => [`lwa/sellers/${n}`, { refresh_token: `Atzr|IwEBI-${n}` }])) }
      return expiresInDays === undefined ? s : {
        ...s, [app]: { ...(s[app] as object), client_secret_expires_at: new Date(Date.now() + expiresInDays * dayMs).toISOString() },
      }
    },
    config: (c) => ({
      ...c,
      credentials: { ...(c.credentials as object), ...Object.fromEntries(names.map((n) => [n, { api: 'sp-api', region: 'eu', app, secret: `lwa/sellers/${n}` }])) },
      policy: [...(c.policy as unknown[]), { subject: admin.claims.sub, admin: true }],
      apps: {
        notifications: { queueUrl: sqs.queueUrl(queue), region: 'us-east-1', endpoint: sqs.url, waitTimeSeconds: 1 },
        ...(rotation ? { rotation } : {}),
      },
      spApi: { endpoints: { eu: sp.url, na: sp.url } },
    }),
  })
  t.teardown(() => {
    for (const secret of sp.secretsOf(fixtures.spClient.clientId)) h.logs.secrets.add(secret)
  })
  return { h, sp, sqs, lwa }
}

const adminCall = async (h: Harness, method: 'GET' | 'POST', url: string) =>
  h.app.inject({ method, url, headers: { authorization: `Bearer ${await h.jwt(admin)}` } })
const currentSecret = (h: Harness) => JSON.parse(h.sm?.current(app)?.value ?? '{}').client_secret as string

t.test('an admin\'s rotation under load: requested once, applied from the queue, no request fails', async (t) => {
  const { h, sp, sqs } = await rig(t)
  await h.services.secrets.get(app)
  const jwt = await h.jwt(platform)
  const before = currentSecret(h)
  h.services.apps.start()
  t.teardown(() => h.services.apps.close())

  let stop = false
  const statuses: number[] = []
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      // A forced refresh now and then: sellers' tokens keep being minted with whatever secret is current.
      if (i % 20 === 0) statuses.push((await adminCall(h, 'POST', '/admin/credentials/sp-acme-eu/refresh')).statusCode)
      const batch = await Promise.all(Array.from({ length: 10 }, () => h.getToken('sp-acme-eu', jwt)))
      statuses.push(...batch.map((r) => r.statusCode))
    }
  })()

  const [first, second] = await Promise.all([
    adminCall(h, 'POST', `/admin/apps/${encodeURIComponent(app)}/rotate`),
    adminCall(h, 'POST', `/admin/apps/${encodeURIComponent(app)}/rotate`),
  ])
  t.same([first.json().outcome, second.json().outcome].sort(), ['already_pending', 'requested'], 'one call to Amazon')
  t.equal(sp.callCount({ operation: 'rotateApplicationClientSecret' }), 1)
  await waitFor(() => currentSecret(h) !== before, 'the new secret to become AWSCURRENT', 15_000)
  const [minted] = sp.secretsOf(fixtures.spClient.clientId)
  t.equal(currentSecret(h), minted, 'the secret Amazon minted')
  await waitFor(() => sqs.messages(queue).length === 0, 'the notification to be deleted', 5000)
  t.same(h.sm?.versions(app).map((v) => v.stages), [['AWSPREVIOUS'], ['AWSCURRENT']])

  sp.retireOldSecrets(fixtures.spClient.clientId)
  const retiredAt = statuses.length
  await waitFor(() => statuses.length > retiredAt + 200, 'more load, forced refreshes included, after the old secret is retired', 20_000)
  stop = true
  await load
  t.same(statuses.filter((s) => s !== 200), [], `all ${statuses.length} requests served`)

  const listed = (await adminCall(h, 'GET', '/admin/apps')).json().apps.find((a: { app: string }) => a.app === app)
  t.match(listed, { api: 'sp-api', client_id: fixtures.spClient.clientId, rotation: { state: 'idle' } })
  t.ok(Date.parse(listed.client_secret_expires_at) > Date.now() + 170 * dayMs, 'the new secret\'s expiry, from the notification')
  const metrics = await h.ops.inject({ url: '/metrics' })
  t.match(metrics.body, /lwa_broker_app_notifications_total\{kind="new_secret",outcome="deleted"\} 1/)
  t.match(metrics.body, /lwa_broker_app_client_secret_expiry_timestamp_seconds\{app="lwa\/apps\/sp"\} \d+/)
  t.match(metrics.body, /lwa_broker_app_secret_rotations_total\{app="lwa\/apps\/sp",outcome="requested"\} 1/)
  t.match(metrics.body, /lwa_broker_app_secret_rotations_total\{app="lwa\/apps\/sp",outcome="already_pending"\} 1/)
})

t.test('inside the expiry window the broker asks by itself, once; not enrolled is a state, not a storm', async (t) => {
  const { h, sp } = await rig(t, { beforeExpiryDays: 30, pendingWaitMinutes: 60, checkIntervalMinutes: 60 }, 10)
  sp.setEnrolled(fixtures.spClient.clientId, false)
  await h.services.secrets.get(app)
  h.services.apps.start()
  t.teardown(() => h.services.apps.close())
  await waitFor(() => sp.callCount({ operation: 'rotateApplicationClientSecret' }) === 1, 'the first check to ask Amazon', 5000)
  await waitFor(() => h.services.apps.list().some((a) => a.rotation?.state === 'not_enrolled'), 'the refusal to be recorded', 5000)
  const again = await adminCall(h, 'POST', `/admin/apps/${encodeURIComponent(app)}/rotate`)
  t.equal(again.json().outcome, 'already_pending', 'not asked again within the wait')
  t.equal(sp.callCount({ operation: 'rotateApplicationClientSecret' }), 1)
})

t.test('rotation routes: an unknown app is 404, an Ads app 400', async (t) => {
  const { h } = await rig(t)
  t.equal((await adminCall(h, 'POST', '/admin/apps/nope/rotate')).statusCode, 404)
  const ads = await adminCall(h, 'POST', `/admin/apps/${encodeURIComponent('lwa/ads-us')}/rotate`)
  t.equal(ads.statusCode, 400)
  t.match(ads.json().message, 'only SP-API apps')
})

t.test('two replicas sharing Redis race to rotate: one call to Amazon', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const shared = { connection: redis.connection, key: randomBytes(32), keyPrefix: 'apps-race:' }
  const a = await rig(t, undefined, undefined, shared)
  const b = await build(t, {
    secretsBackend: 'aws', lwa: a.lwa, sm: a.h.sm, clock: a.h.clock, redis: shared,
    // The same Amazon as replica a: whichever replica wins the claim calls the emulator, never the real host.
    config: (c) => ({
      ...c, policy: [...(c.policy as unknown[]), { subject: admin.claims.sub, admin: true }],
      apps: a.h.config.apps, spApi: a.h.config.spApi,
    }),
  })
  await Promise.all([a.h.services.secrets.get(app), b.services.secrets.get(app)])
  const answers = await Promise.all([a.h, b, a.h, b].map((h) => adminCall(h, 'POST', `/admin/apps/${encodeURIComponent(app)}/rotate`)))
  t.same(answers.map((r) => r.json().outcome).sort(), ['already_pending', 'already_pending', 'already_pending', 'requested'])
  t.equal(a.sp.callCount({ operation: 'rotateApplicationClientSecret' }), 1, 'each call mints a secret: only one was made')
})

t.test('a notification for a client id no credential uses is left to the redrive policy, nothing written', async (t) => {
  const { h, sqs } = await rig(t)
  const stranger = 'amzn1.oa2-cs.v1.someone-elses-secret'
  h.logs.secrets.add(stranger)
  sqs.send(queue, notificationBody({
    type: newSecretType, nowMs: Date.now(), payloadVersion: '2023-11-30',
    app: { applicationId: 'amzn1.sp.solution.other', subscriptionId: 'sub-1' },
    payload: { clientId: 'amzn1.application-oa2-client.other', newClientSecret: stranger, newClientSecretExpiryTime: '2027-06-01T00:00:00Z', oldClientSecretExpiryTime: '2026-12-09T00:00:00Z' },
  }))
  const writes = h.sm?.callCount({ operation: 'PutSecretValue' })
  h.services.apps.start()
  t.teardown(() => h.services.apps.close())
  await waitFor(() => h.logs.find((r) => typeof r.msg === 'string' && r.msg.includes('no credential uses')).length > 0, 'the refusal', 5000)
  t.equal(sqs.messages(queue).length, 1, 'kept on the queue')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), writes, 'nothing written')
})

t.test('the expiry window reached, many sellers of one app under load: rotated once, applied, nobody fails', async (t) => {
  const sellers = 20
  const { h, sp } = await rig(t, { beforeExpiryDays: 30, pendingWaitMinutes: 60, checkIntervalMinutes: 60 }, 10, undefined, sellers)
  await h.services.secrets.get(app)
  const before = currentSecret(h)
  const jwt = await h.jwt(platform)
  const names = Array.from({ length: sellers }, (_, i) => `sp-seller-${i}`)
  let stop = false
  const statuses: number[] = []
  const load = (async () => {
    for (let round = 0; !stop; round++) {
      // Each round also forces one seller's refresh: new tokens are minted with whatever secret is current.
      statuses.push((await adminCall(h, 'POST', `/admin/credentials/${names[round % sellers]}/refresh`)).statusCode)
      statuses.push(...(await Promise.all(names.map((n) => h.getToken(n, jwt)))).map((r) => r.statusCode))
    }
  })()
  h.services.apps.start()
  t.teardown(() => h.services.apps.close())
  await waitFor(() => currentSecret(h) !== before && h.sm?.current(app, 'AWSPENDING') === undefined, 'the rotation to complete', 15_000)
  t.equal(sp.callCount({ operation: 'rotateApplicationClientSecret' }), 1, 'asked once')
  t.equal(currentSecret(h), sp.secretsOf(fixtures.spClient.clientId)[0])
  sp.retireOldSecrets(fixtures.spClient.clientId)
  const retiredAt = statuses.length
  await waitFor(() => statuses.length > retiredAt + 5 * (sellers + 1), 'more rounds after the old secret is retired', 20_000)
  stop = true
  await load
  t.same(statuses.filter((s) => s !== 200), [], `all ${statuses.length} requests served, ${sellers} sellers`)
  t.equal(h.services.apps.list().find((a) => a.app === app)?.rotation?.state, 'idle', 'the rotation is over')
})
