import { rmSync } from 'node:fs'
import t from 'tap'
import { build } from '../helper.js'

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

t.test('/readyz answers 503 when one credential\'s secret is missing', async (t) => {
  const h = await build(t, { secrets: (s) => { delete s['lwa/appstore']; return s } })
  t.equal((await h.app.inject('/readyz')).statusCode, 503)
})

t.test('/readyz stays ready once secrets were loaded, so a later secret-store outage is ridden out on the cache', async (t) => {
  const h = await build(t)
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
  rmSync(h.secretsPath)
  t.equal((await h.app.inject('/readyz')).statusCode, 200)
})
