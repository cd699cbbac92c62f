import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { baseSecrets, fixtures, mintJwt } from '../helper.js'
import { processFixture, startBroker } from '../support/broker-process.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const awsEnv = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }

t.test('SIGTERM during load: readiness goes false first, no in-flight request fails, exit 0', async (t) => {
  const { lwa, keys, configPath } = await processFixture(t, (c) => ({ ...c, shutdown: { drainSeconds: 1, graceSeconds: 10 } }))
  lwa.latencyMs = 600
  const run = startBroker(configPath)
  t.teardown(() => { run.child.kill('SIGKILL') })
  const base = await run.listening()
  const jwt = await mintJwt(keys, platform)
  const credentials = ['ads-us', 'sp-acme-eu', 'sp-notifications', 'appstore-main']
  const inFlight = Array.from({ length: 40 }, (_, i) => fetch(`${base}/token?credential=${credentials[i % 4]}`, { headers: { authorization: `Bearer ${jwt}` } }))
  await new Promise((resolve) => setTimeout(resolve, 150))
  run.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 150))
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 503, 'draining: not ready, so Kubernetes routes no new requests here')
  t.equal(((await ready.json()) as { checks: Record<string, string> }).checks.shutdown, 'failing')
  const statuses = await Promise.all(inFlight.map(async (p) => (await p).status))
  t.same([...new Set(statuses)], [200], 'every in-flight request succeeded')
  const [code] = await run.exited
  t.equal(code, 0)
})

t.test('SIGTERM right after an answer: its buffered audit line is on disk when the process has exited', async (t) => {
  const { keys, dir, configPath } = await processFixture(t, (c) => ({
    ...c, audit: { destination: './audit/audit.log' }, logs: { mode: 'buffered', flushMs: 2000 },
  }))
  const run = startBroker(configPath)
  t.teardown(() => { run.child.kill('SIGKILL') })
  const base = await run.listening()
  const res = await fetch(`${base}/token?credential=ads-us`, { headers: { authorization: `Bearer ${await mintJwt(keys, platform)}` } })
  t.equal(res.status, 200)
  const requestId = res.headers.get('x-request-id')
  run.child.kill('SIGTERM')
  const [code] = await run.exited
  t.equal(code, 0)
  const lines = readFileSync(join(dir, 'audit', 'audit.log'), 'utf8').split('\n').filter(Boolean)
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  t.match(events.at(-1), { log: 'audit', event: 'token.issued', requestId, credential: 'ads-us' }, 'the last line is that answer\'s')
})

t.test('SIGKILL in the middle of a refresh: the restarted broker serves, and nothing stored is lost or corrupted', async (t) => {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  for (const [id, value] of Object.entries(baseSecrets())) sm.putSecret(id, value as object)
  const { lwa, keys, configPath } = await processFixture(t, (c) => ({ ...c, secrets: { backend: 'aws', region: 'us-east-1', endpoint: sm.url } }))
  const rotated = 'Atzr|IwEBIAds-refresh-token-after-crash'
  lwa.addRefreshToken({ refreshToken: fixtures.adsRefreshToken, clientId: fixtures.adsClient.clientId, rotateTo: rotated })
  lwa.latencyMs = 1500
  const jwt = await mintJwt(keys, platform)

  const first = startBroker(configPath, awsEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const base = await first.listening()
  const pending = fetch(`${base}/token?credential=ads-us`, { headers: { authorization: `Bearer ${jwt}` } }).catch((err: unknown) => err)
  await new Promise((resolve) => setTimeout(resolve, 500))
  first.child.kill('SIGKILL')
  await first.exited
  t.type(await pending, Error, 'the request in flight died with the process')
  t.equal(sm.callCount({ operation: 'PutSecretValue' }), 0, 'nothing was half-written')

  lwa.latencyMs = 0
  const second = startBroker(configPath, awsEnv)
  t.teardown(() => { second.child.kill('SIGKILL') })
  const res = await fetch(`${await second.listening()}/token?credential=ads-us`, { headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.status, 200, `the restarted broker serves (${res.status === 200 ? 'ok' : await res.clone().text()}; stderr: ${second.output().stderr.slice(0, 500)})`)
  const stored = JSON.parse(sm.current('lwa/ads-us')?.value ?? 'null') as Record<string, string>
  t.same(Object.keys(stored).sort(), ['client_id', 'client_secret', 'refresh_token'], 'the secret is whole')
  t.ok([fixtures.adsRefreshToken, rotated].includes(stored.refresh_token as string), 'and holds a refresh token LWA accepts')
  t.ok(sm.callCount({ operation: 'PutSecretValue' }) <= 1)
  second.child.kill('SIGTERM')
  const [code] = await second.exited
  t.equal(code, 0)
})
