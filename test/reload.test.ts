import { join } from 'node:path'
import t from 'tap'
import { parseConfig, type BrokerConfig } from '../src/config/index.js'
import { baseConfig, build, type Harness } from './helper.js'
import { scrapeMetrics } from './support/exposition.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }

/** The harness's own config, changed: what an operator would write into the file. */
async function harness(t: Test): Promise<{ h: Harness; next: (change: (c: Record<string, unknown>) => Record<string, unknown>) => () => BrokerConfig }> {
  const h = await build(t)
  const next = (change: (c: Record<string, unknown>) => Record<string, unknown>) => () =>
    parseConfig(change(baseConfig(h.lwa, h.secretsPath, h.keys.jwks)), join(h.secretsPath, '..', 'broker.yaml'))
  return { h, next }
}

t.test('a reload swaps the config file\'s credentials: added ones serve, changed and removed ones lose their tokens', async (t) => {
  const { h, next } = await harness(t)
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 200)
  const unchanged = h.services.catalogue.get('sp-notifications')
  const outcome = h.services.reload(next((c) => {
    const credentials = { ...(c.credentials as Record<string, Record<string, unknown>>) }
    credentials['ads-us-2'] = credentials['ads-us'] as Record<string, unknown>
    credentials['ads-us'] = { ...credentials['ads-us'], profileId: '999' }
    delete credentials['sp-acme-eu']
    return { ...c, credentials }
  }))
  t.match(outcome, { result: 'applied' })
  t.same(outcome.result === 'applied' ? outcome.changes.map((c) => `${c.name} ${c.kind}`).sort() : [], ['ads-us changed', 'ads-us-2 added', 'sp-acme-eu removed'])
  t.equal(h.services.tokens.peek('ads-us').token, undefined, 'a changed credential starts afresh')
  t.equal(h.services.catalogue.get('sp-notifications'), unchanged, 'an unchanged one keeps its settings object: its refreshes are still shared')
  const res = await h.getToken('ads-us', jwt)
  t.equal(res.json().headers['Amazon-Advertising-API-Scope'], '999', 'with its new settings')
  t.equal((await h.getToken('ads-us-2', jwt)).statusCode, 200)
  t.equal((await h.getToken('sp-acme-eu', jwt)).json().error, 'unknown_credential')
  t.match(await scrapeMetrics(t, h), 'lwa_broker_config_reloads_total{result="applied"} 1')
})

t.test('unchanged issuers keep their authenticator (verified tokens, fetched keys); changed ones get a new one', async (t) => {
  const { h, next } = await harness(t)
  const before = h.services.authenticator
  t.match(h.services.reload(next((c) => ({ ...c, policy: [] }))), { result: 'applied' })
  t.equal(h.services.authenticator, before)
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 403, 'the new policy decides: default deny')
  t.match(h.services.reload(next((c) => ({ ...c, issuers: [{ ...(c.issuers as object[])[0], audiences: ['someone-else'] }] }))), { result: 'applied' })
  t.not(h.services.authenticator, before)
})

t.test('a verified caller keeps only the claims the policy reads; a reload that reads one more verifies its callers again', async (t) => {
  const { h, next } = await harness(t)
  // The default sub is system:serviceaccount:ads:reporter; its token has the kubernetes.io claims.
  const jwt = await h.jwt({ claims: { team: 'sellers' } })
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  t.same(Object.keys(h.services.authenticator.known(`Bearer ${jwt}`)?.claims ?? { missing: true }), [],
    'no rule reads a claim: none is kept (the subject and issuer are kept apart)')
  const byClaims = [
    { subject: '*', kubernetes: { namespace: 'ads' }, credentials: ['sp-acme-eu'] },
    { subject: '*', claims: { team: 'sell*' }, labelsFromClaims: { team: 'team' }, credentials: ['sp-*'] },
  ]
  t.match(h.services.reload(next((c) => ({ ...c, policy: [...(c.policy as unknown[]), ...byClaims] }))), { result: 'applied' })
  t.equal((await h.getToken('sp-acme-eu', jwt)).statusCode, 200, 'the caller verified before is decided on its claims')
  t.same(Object.keys(h.services.authenticator.known(`Bearer ${jwt}`)?.claims ?? {}).sort(), ['kubernetes.io', 'team'])
  t.match(h.services.reload(next((c) => ({ ...c, policy: [byClaims[0], ...(c.policy as unknown[])] }))), { result: 'applied' })
  t.same(Object.keys(h.services.authenticator.known(`Bearer ${jwt}`)?.claims ?? {}).sort(), ['kubernetes.io', 'team'],
    'a policy that reads fewer claims keeps the cache: the set only grows')
})

t.test('an invalid config and a restart-only change are refused, the old config serving, and counted', async (t) => {
  const { h, next } = await harness(t)
  const jwt = await h.jwt(platform)
  const invalid = h.services.reload(next((c) => ({ ...c, policy: [{ subject: 'x' }] })))
  t.match(invalid, { result: 'invalid', error: { problems: [{ field: 'policy.0' }] } })
  const refused = h.services.reload(next((c) => ({ ...c, cache: { backend: 'redis', url: 'redis://127.0.0.1:1', encryptionKeyFile: '/k' }, tokens: { backgroundRefreshSeconds: 30 } })))
  t.match(refused, { result: 'refused' })
  t.same(refused.result === 'refused' ? refused.restartOnly.sort() : [], ['cache.backend', 'cache.encryptionKeyFile', 'cache.url', 'tokens.backgroundRefreshSeconds'])
  t.ok(h.logs.find((l) => /cache\.backend, .* cannot change without a restart/.test(String(l.msg))).length === 1)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'the old config serves')
  const metrics = await scrapeMetrics(t, h)
  t.match(metrics, 'lwa_broker_config_reloads_total{result="invalid"} 1')
  t.match(metrics, 'lwa_broker_config_reloads_total{result="refused"} 1')
})

t.test('rate limits read per request: a reload that lowers rateLimit.max applies to the next request', async (t) => {
  const { h, next } = await harness(t)
  const jwt = await h.jwt(platform)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200)
  const lowered = (c: Record<string, unknown>) => ({ ...c, rateLimit: { ...(c.rateLimit as object), max: 2 } })
  t.match(h.services.reload(next(lowered)), { result: 'applied' })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await h.getToken('ads-us', jwt)).statusCode)
  t.same(statuses, [200, 429, 429], 'the one before the reload counts too: the window did not restart')
})
