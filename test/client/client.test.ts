// The caller client against real brokers: a broker process (restarted under a waiting caller)
// and an in-process broker on a loopback port with the SP-API emulator (RDTs, the pace's 429).
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BrokerClient, BrokerClientError } from '../../src/client/index.js'
import { build, fixtures, mintJwt, seedEmulator } from '../helper.js'
import { processFixture, startBroker, waitFor } from '../support/broker-process.js'
import { FakeClock } from '../support/fake-clock.js'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { freePort } from '../support/redis-server.js'
import { SpApiEmulator } from '../support/sp-api-emulator.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const reporter = { claims: { sub: 'system:serviceaccount:ads:reporter' } }
const issuedLines = (stdout: string) => stdout.split('\n').filter((l) => l.includes('"event":"token.issued"'))
/** The broker's audit lines are buffered (logs.flushMs, 100 ms): wait for `n`, then long enough for any more. */
async function issuedAfterFlush(stdout: () => string, n: number): Promise<string[]> {
  await waitFor(() => issuedLines(stdout()).length >= n, `${n} audit lines`)
  await new Promise((resolve) => setTimeout(resolve, 400))
  return issuedLines(stdout())
}

t.test('a broker process: cached, single-flight, the JWT file read anew, a restart survived', async (t) => {
  const port = await freePort()
  const fx = await processFixture(t, (c) => ({ ...c, listen: { host: '127.0.0.1', port } }))
  const jwtFile = join(fx.dir, 'token')
  writeFileSync(jwtFile, await mintJwt(fx.keys, platform))
  let broker = startBroker(fx.configPath)
  t.teardown(() => { broker.child.kill('SIGKILL') })
  const url = await broker.listening()
  const delays: number[] = []
  let restart: Promise<void> | undefined
  const client = new BrokerClient({
    url, jwt: { file: jwtFile }, random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms)
      await restart
    },
  })

  const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getToken({ credential: 'sp-acme-eu' })))
  t.equal(new Set(tokens.map((x) => x.token)).size, 1)
  t.same(tokens[0]?.headers, { 'x-amz-access-token': tokens[0]?.token })
  const stdout = () => broker.output().stdout
  t.equal((await issuedAfterFlush(stdout, 1)).length, 1, '50 callers, one broker request')
  await client.getToken({ credential: 'sp-acme-eu' })
  t.equal((await issuedAfterFlush(stdout, 1)).length, 1, 'then the cache')

  writeFileSync(jwtFile, await mintJwt(fx.keys, reporter)) // the kubelet rotated the token
  await client.getToken({ credential: 'ads-us' })
  t.match((await issuedAfterFlush(stdout, 2)).at(-1), /"callerSubject":"system:serviceaccount:ads:reporter"/)
  writeFileSync(jwtFile, await mintJwt(fx.keys, platform))

  broker.child.kill('SIGTERM')
  await broker.exited
  restart = (async () => {
    broker = startBroker(fx.configPath)
    await broker.listening()
  })()
  const after = await client.getToken({ credential: 'appstore-main' })
  t.match(after.headers.Authorization, /^Bearer Atc\|/)
  t.ok(delays.length >= 1, 'retried while the broker was away')

  writeFileSync(jwtFile, await mintJwt(fx.keys, reporter))
  const denied = await client.getToken({ credential: 'sp-other' }).catch((e: unknown) => e)
  t.ok(denied instanceof BrokerClientError)
  t.match(denied, { code: 'forbidden', status: 403 })
  t.equal(delays.length, 1, 'a 403 is not retried')
  t.notMatch(String((denied as Error).message), /Atza|eyJ/, 'no token or JWT in the error')
})

t.test('RDTs and the fetch helper against a broker with the SP-API emulator; a 429 waits its Retry-After', async (t) => {
  const clock = new FakeClock()
  const lwa = await LwaEmulator.start({ clock })
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const sp = await SpApiEmulator.start({ lwa, clock })
  t.teardown(() => sp.close())
  sp.setSellingPartner(fixtures.spRefreshToken, 'A1ACMESELLER')
  const h = await build(t, {
    lwa, clock,
    config: (c) => ({
      ...c, spApi: { endpoints: { eu: sp.url } },
      policy: [{ subject: platform.claims.sub, credentials: ['*'], restrictedData: true }],
    }),
  })
  t.teardown(() => { for (const r of sp.rdts) h.logs.secrets.add(r.restrictedDataToken) })
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const delays: number[] = []
  const asked: string[] = []
  const client = new BrokerClient({
    url, jwt: () => h.jwt(platform), now: () => clock.now(), random: () => 0,
    fetch: (input, init) => {
      if (String(input).startsWith(url)) asked.push(`${init?.method} ${new URL(String(input)).pathname}`)
      return fetch(input, init)
    },
    sleep: async (ms) => {
      delays.push(ms)
      clock.advance(ms)
    },
  })
  const address = (order: string) => ({ method: 'get', path: `/orders/v0/orders/${order}/address` })

  const answer = await client.fetch(`${sp.url}/orders/v0/orders/1/address`, {},
    { credential: 'sp-acme-eu', restrictedResources: [address('1')] })
  t.equal(answer.status, 200, 'the RDT opened the address')
  const again = await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [address('1')] })
  t.equal(sp.rdts.length, 1)
  t.equal(again.token, sp.rdts[0]?.restrictedDataToken)

  for (let i = 2; i <= 10; i++) await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [address(String(i))] })
  t.same(delays, [], 'the burst of 10 went through')
  await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [address('11')] })
  t.same(delays, [1000], 'the 11th waited the broker\'s Retry-After, then got its RDT')
  t.equal(sp.callCount({ operation: 'createRestrictedDataToken', status: 429 }), 0)

  const own = await client.fetch(`${sp.url}/orders/v0/orders/1/address`, { headers: { 'x-amz-access-token': 'mine' } },
    { credential: 'sp-acme-eu', restrictedResources: [address('1')] })
  t.equal(own.status, 403, 'a header the caller set itself wins')
  const bad = await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [{ method: 'GET', path: '/orders/v0/orders' }] })
    .catch((e: unknown) => e)
  t.match(bad, { code: 'resource_invalid', status: 400 })
  t.notMatch(String((bad as Error).message), /Atz|Atza/, 'no token in an error')
  t.same([...new Set(asked)], ['GET /restricted-data-token'], 'one resource: the GET form')
  const two = await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [address('1'), address('2')] })
  t.match(two.token, /^Atz\.sprdt\|/, 'two resources: one RDT for the set')
  t.equal(asked.at(-1), 'POST /restricted-data-token', 'by POST')
  const orders = { method: 'GET', path: '/orders/v0/orders', dataElements: ['shippingAddress', 'buyerInfo'] }
  const withElements = await client.restrictedDataToken({ credential: 'sp-acme-eu', restrictedResources: [orders] })
  t.equal(asked.at(-1), 'GET /restricted-data-token')
  t.same(sp.rdts.at(-1)?.resources, [{ ...orders, dataElements: ['buyerInfo', 'shippingAddress'] }], 'data elements sent')
  t.equal(withElements.token, sp.rdts.at(-1)?.restrictedDataToken)
})
