import { join } from 'node:path'
import t from 'tap'
import { parseConfig } from '../../src/config/index.js'
import { baseConfig, fixtures } from '../helper.js'
import { approve, callback, link, onboardingBroker, open, withOnboarding } from '../support/onboarding-fixture.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }

t.test('a discovered seller with an application-id tag is onboarded: the refresh token lands in its tagged secret', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws', config: (c) => ({ ...c, catalogue: { namePrefix: 'lwa-broker/sellers/' } }) })
  h.sm?.putSecret('lwa-broker/sellers/sp-newco', {}, {
    tags: {
      'lwa-broker:credential': 'sp-newco', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'na', 'lwa-broker:app': 'lwa/apps/sp',
      'lwa-broker:application-id': 'amzn1.sp.solution.test',
    },
  })
  await h.services.discovery?.refresh()
  const { res, state, cookie, location } = await open(h, await link(h, 'sp-newco', {}))
  t.equal(res.statusCode, 303)
  t.equal(location?.searchParams.get('application_id'), 'amzn1.sp.solution.test')
  const refreshToken = 'Atzr|IwEBI-onboarded-discovered-seller'
  h.logs.secrets.add(refreshToken)
  const done = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, refreshToken), state, selling_partner_id: 'A3NEWCO' }, cookie)
  t.equal(done.statusCode, 200)
  t.match(JSON.parse(h.sm?.current('lwa-broker/sellers/sp-newco')?.value ?? '{}'), { refresh_token: refreshToken, selling_partner_id: 'A3NEWCO' })
  t.equal((await h.getToken('sp-newco', await h.jwt(platform))).statusCode, 200, 'and it serves')
})

t.test('a seller declared with a selling-partner-id tag can only be connected to that seller', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws', config: (c) => ({ ...c, catalogue: { namePrefix: 'lwa-broker/sellers/' } }) })
  h.sm?.putSecret('lwa-broker/sellers/sp-declared', {}, {
    tags: {
      'lwa-broker:credential': 'sp-declared', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'na', 'lwa-broker:app': 'lwa/apps/sp',
      'lwa-broker:application-id': 'amzn1.sp.solution.test', 'lwa-broker:selling-partner-id': 'A3DECLARED',
    },
  })
  await h.services.discovery?.refresh()
  const { state, cookie } = await open(h, await link(h, 'sp-declared', {}))
  const wrong = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBI-someone-else'), state, selling_partner_id: 'A3SOMEONEELSE' }, cookie)
  t.equal(wrong.statusCode, 403)
  t.match(wrong.body, 'this link is for account A3DECLARED')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0, 'nothing stored')
})

t.test('a credential removed (config reload) between the link and the callback: 410, nothing stored', async (t) => {
  const h = await onboardingBroker(t, { secretsBackend: 'aws' })
  const { state, cookie } = await open(h, await link(h, 'ads-us'))
  const withoutAds = (c: Record<string, unknown>) => {
    const { 'ads-us': _gone, ...credentials } = c.credentials as Record<string, unknown>
    return { ...c, credentials }
  }
  const reloaded = h.services.reload(() => parseConfig(withOnboarding(withoutAds({
    ...baseConfig(h.lwa, h.secretsPath, h.keys.jwks), ads: h.config.ads, secrets: h.config.secrets,
  })), join(h.secretsPath, '..', 'broker.yaml')))
  t.match(reloaded, { result: 'applied' })
  const done = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBI-too-late'), state }, cookie)
  t.equal(done.statusCode, 410)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0, 'nothing stored')
})
