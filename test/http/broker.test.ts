import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { parseConfig } from '../../src/config/index.js'
import { createBroker } from '../../src/http/broker.js'
import { createLogger } from '../../src/observability/logger.js'
import { baseConfig, baseSecrets, callerKeys, mintJwt, seedEmulator } from '../helper.js'
import { LogCapture } from '../support/log-capture.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

const keys = await callerKeys()

t.test('listen opens the caller and the ops listener on real sockets; close drains, flushes the audit log and closes both', async (t) => {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const dir = t.testdir({ 'secrets.json': JSON.stringify(baseSecrets()) })
  const config = parseConfig({
    ...baseConfig(lwa, join(dir, 'secrets.json'), keys.jwks),
    listen: { host: '127.0.0.1', port: 0 },
    shutdown: { drainSeconds: 0, graceSeconds: 1 },
  }, join(dir, 'broker.yaml'))
  const logs = new LogCapture()
  let flushed = 0
  const audit = Object.assign(new LogCapture(), { flush: async () => { flushed++ } })
  const broker = await createBroker(config, { logger: createLogger('info', logs), auditSink: audit })
  const addresses = await broker.listen()
  t.not(addresses.app, addresses.ops, 'two listeners')

  const jwt = await mintJwt(keys, { claims: { sub: 'system:serviceaccount:platform:all' } })
  const token = await request(`${addresses.app}/token?credential=ads-us`, { headers: { authorization: `Bearer ${jwt}` } })
  t.equal(token.statusCode, 200, 'the caller listener serves GET /token')
  await token.body.dump()
  const metrics = await request(`${addresses.ops}/metrics`)
  t.equal(metrics.statusCode, 200, 'the ops listener serves /metrics')
  await metrics.body.dump()
  t.equal(audit.find((r) => r.event === 'token.issued').length, 1, 'the issuance is audited')

  await broker.close()
  t.equal(flushed, 1, 'the audit sink is flushed on close')
  for (const url of [addresses.app, addresses.ops]) {
    await t.rejects(request(`${url}/healthz`), { code: 'ECONNREFUSED' }, `${url} is closed`)
  }
  t.same(logs.leaks(), [])
})
