import { rmSync } from 'node:fs'
import t from 'tap'
import { build, issuerUrl } from '../../helper.js'
import { JwksServer, keysPath } from '../../support/jwks-server.js'

t.test('/healthz answers while the process lives, without a JWT', async (t) => {
  const h = await build(t)
  const res = await h.app.inject('/healthz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('/readyz is ready when every configured secret can be read', async (t) => {
  const h = await build(t)
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { config: 'ok', issuers: 'ok', secrets: 'ok' } })
})

t.test('/readyz answers 503 when secrets cannot be read', async (t) => {
  const h = await build(t)
  rmSync(h.secretsPath)
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'not_ready', checks: { config: 'ok', issuers: 'ok', secrets: 'failing' } })
})

t.test('one credential\'s missing secret keeps the replica ready: that credential alone is misconfigured', async (t) => {
  const h = await build(t, { secrets: (s) => { delete s['lwa/appstore']; return s } })
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 200, 'every other credential is served, so the replica stays in the Service')
  t.same(res.json(), { status: 'ready', checks: { config: 'ok', issuers: 'ok', secrets: 'ok' } })
  const appstore = h.services.status.list().find((s) => s.credential === 'appstore-main')
  t.equal(appstore?.health, 'misconfigured', 'status names the credential, before anyone asked for its token')
  t.equal(appstore?.lastError?.code, 'credential_misconfigured')
  t.equal(h.services.status.list().find((s) => s.credential === 'ads-us')?.health, 'healthy')
  const metrics = (await h.ops.inject('/metrics')).body
  t.match(metrics, /lwa_broker_credential_health\{credential="appstore-main",state="misconfigured"\} 1/, 'and so do the metrics')
  const line = h.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('ready, but'))
  t.match(line[0]?.msg, /secret lwa\/appstore: not found/, 'the log line names the secret')
})

t.test('/readyz answers from the last evaluation: probes cost no secret reads', async (t) => {
  const h = await build(t, { secretsBackend: 'aws', secrets: (s) => { delete s['lwa/appstore']; return s } })
  const reads = (): number => h.sm?.callCount({ operation: 'GetSecretValue' }) ?? 0
  await h.app.inject('/readyz')
  const afterFirst = reads()
  t.equal(afterFirst, 4, 'the first evaluation reads each secret once (one of them is missing)')
  for (let i = 0; i < 100; i++) await h.app.inject('/readyz')
  t.equal(reads(), afterFirst, '100 more probes, not one more read')
  await h.services.readiness.evaluate()
  t.equal(reads(), afterFirst, 'a missing secret is read again only after secrets.refreshSeconds, not at every evaluation')
  h.clock.advance(h.config.secrets.refreshSeconds * 1000)
  await h.services.readiness.evaluate()
  t.equal(reads(), afterFirst + 1, 'then once')
})

t.test('/readyz stays ready once secrets were loaded, so a later secret-store outage is ridden out on the cache', async (t) => {
  const h = await build(t)
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
  rmSync(h.secretsPath)
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
})

t.test('/readyz as an amplifier: while an issuer\'s keys cannot be fetched, probes and evaluations keep the JWKS cooldown', async (t) => {
  const server = await JwksServer.start()
  t.teardown(() => server.close())
  server.fail(keysPath, { kind: 'status', status: 500 })
  const h = await build(t, {
    config: (c) => ({ ...c, issuers: [{ issuer: server.url, audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { uri: server.jwksUri, cooldownMs: 60_000 } }] }),
  })
  for (let i = 0; i < 100; i++) t.equal((await h.app.inject('/readyz')).statusCode, 503)
  for (let i = 0; i < 5; i++) await h.services.readiness.evaluate()
  t.equal(server.requests(keysPath), 1, '100 probes and 5 evaluations: one JWKS fetch, then the cooldown')
})

t.test('/readyz as an amplifier: ready with one issuer of two, the other named in the log', async (t) => {
  const server = await JwksServer.start()
  t.teardown(() => server.close())
  server.fail(keysPath, { kind: 'status', status: 500 })
  const h = await build(t, {
    config: (c) => ({
      ...c,
      issuers: [...(c.issuers as object[]), { issuer: server.url, audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { uri: server.jwksUri } }],
      policy: (c.policy as Array<Record<string, unknown>>).map((rule) => ({ ...rule, issuer: issuerUrl })),
    }),
  })
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 200, 'callers of the working issuer are served, so the replica is ready')
  const line = h.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('ready, but'))
  t.match(line[0]?.msg, new RegExp(`keys of issuer ${server.url} are unavailable`))
})
