// A consent that creates its credential: POST /admin/onboarding `create` -> CreateSecret with the
// tags that declare it, served at once; the same account again re-authorizes; names that are
// taken, another account, and Secrets Manager down lose nothing.
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import t from 'tap'
import { fixtures, type Harness } from '../helper.js'
import { admin, advertiser, approve, callback, onboardingBroker, open } from '../support/onboarding-fixture.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const prefix = 'lwa-broker/sellers/'
const spCreate = {
  name: 'sp-{account}-{region}', api: 'sp-api', region: 'eu', app: 'lwa/apps/sp',
  application_id: 'amzn1.sp.solution.test', draft: true, labels: { team: 'marketplaces' },
}

async function broker(t: Test, catalogue = true): Promise<Harness> {
  return onboardingBroker(t, {
    secretsBackend: 'aws',
    config: (c) => {
      const onboarding = { ...(c.onboarding as object), newCredentials: { secretNamePrefix: prefix, kmsKeyId: 'alias/sellers' } }
      return { ...c, onboarding, ...(catalogue ? { catalogue: { namePrefix: prefix } } : {}) }
    },
  })
}

const createLink = async (h: Harness, body: Record<string, unknown>) =>
  h.app.inject({ method: 'POST', url: '/admin/onboarding', headers: { authorization: `Bearer ${await h.jwt(admin)}` }, payload: body })

/** The whole browser round trip for an SP-API seller through a `create` link. */
async function onboardSeller(h: Harness, seller: string, refreshToken: string, body: Record<string, unknown> = { create: spCreate }) {
  h.logs.secrets.add(refreshToken)
  const made = await createLink(h, body)
  const { res, state, cookie, location } = await open(h, made.json().url as string)
  const done = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, refreshToken), state, selling_partner_id: seller }, cookie)
  return { made, opened: res, location, done }
}

t.test('an SP-API consent creates its credential: tagged secret, KMS key, served at once', async (t) => {
  const h = await broker(t)
  const refreshToken = 'Atzr|IwEBI-created-by-consent'
  const { made, opened, location, done } = await onboardSeller(h, 'A3NEWSELLER', refreshToken)
  t.equal(made.statusCode, 200)
  t.equal(opened.statusCode, 303)
  t.equal(location?.searchParams.get('application_id'), 'amzn1.sp.solution.test')
  t.equal(location?.searchParams.get('version'), 'beta', 'a draft app')
  t.equal(location?.hostname, 'sellercentral-europe.amazon.com', 'the region the link names')
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential sp-A3NEWSELLER-eu is connected to Amazon account A3NEWSELLER')

  const name = `${prefix}sp-A3NEWSELLER-eu`
  t.match(JSON.parse(h.sm?.current(name)?.value ?? '{}'), {
    refresh_token: refreshToken, selling_partner_id: 'A3NEWSELLER', authorized_at: new Date(h.clock.now()).toISOString(),
  })
  t.same(h.sm?.tags(name), {
    'lwa-broker:credential': 'sp-A3NEWSELLER-eu', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'eu',
    'lwa-broker:app': 'lwa/apps/sp', 'lwa-broker:selling-partner-id': 'A3NEWSELLER',
    'lwa-broker:application-id': 'amzn1.sp.solution.test', 'lwa-broker:draft': 'true', 'lwa-broker:label:team': 'marketplaces',
  }, 'the tags declare the credential, pinned to its seller')
  const client = new SecretsManagerClient({ endpoint: h.sm?.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })
  t.teardown(() => client.destroy())
  t.equal((await client.send(new DescribeSecretCommand({ SecretId: name }))).KmsKeyId, 'alias/sellers')

  t.equal(h.services.catalogue.get('sp-A3NEWSELLER-eu')?.api, 'sp-api', 'listed at once, not after an interval')
  const token = await h.getToken('sp-A3NEWSELLER-eu', await h.jwt(platform))
  t.equal(token.statusCode, 200, 'and served')
  t.match(h.logs.find((r) => r.event === 'credential.connected'), [{ credential: 'sp-A3NEWSELLER-eu', account: 'A3NEWSELLER' }])
  t.match(h.logs.find((r) => r.event === 'onboarding.completed'), [{ credential: 'sp-A3NEWSELLER-eu', account: 'A3NEWSELLER' }])
})

t.test('the same seller through another create link re-authorizes the credential it has', async (t) => {
  const h = await broker(t)
  await onboardSeller(h, 'A3NEWSELLER', 'Atzr|IwEBI-first-year')
  const renamed = { create: { ...spCreate, name: 'seller-{account}' } }
  const { done } = await onboardSeller(h, 'A3NEWSELLER', 'Atzr|IwEBI-second-year', renamed)
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential sp-A3NEWSELLER-eu is connected', 'found by its seller id, not by the new template')
  t.equal(h.sm?.callCount({ operation: 'CreateSecret' }), 1, 'nothing created twice')
  t.equal(JSON.parse(h.sm?.current(`${prefix}sp-A3NEWSELLER-eu`)?.value ?? '{}').refresh_token, 'Atzr|IwEBI-second-year')
  t.match(h.logs.find((r) => r.event === 'credential.reauthorized'), [{ credential: 'sp-A3NEWSELLER-eu' }])
})

t.test('a fixed name another seller already has is refused; so is a name held by a secret that is no grant', async (t) => {
  const h = await broker(t)
  const fixed = { create: { ...spCreate, name: 'sp-shared' } }
  await onboardSeller(h, 'A3FIRSTSELLER', 'Atzr|IwEBI-first-seller', fixed)
  const other = await onboardSeller(h, 'A3OTHERSELLER', 'Atzr|IwEBI-other-seller', fixed)
  t.equal(other.done.statusCode, 409)
  t.match(other.done.body, 'already connected to Amazon account A3FIRSTSELLER')
  t.equal(JSON.parse(h.sm?.current(`${prefix}sp-shared`)?.value ?? '{}').refresh_token, 'Atzr|IwEBI-first-seller', 'kept')

  h.sm?.putSecret(`${prefix}sp-squatted`, { note: 'someone else\'s' })
  const squatted = await onboardSeller(h, 'A3THIRDSELLER', 'Atzr|IwEBI-third-seller', { create: { ...spCreate, name: 'sp-squatted' } })
  t.equal(squatted.done.statusCode, 409)
  t.match(squatted.done.body, 'is taken by a secret or credential')
  t.same(JSON.parse(h.sm?.current(`${prefix}sp-squatted`)?.value ?? '{}'), { note: 'someone else\'s' }, 'not written')
  t.equal(h.logs.find((r) => r.event === 'onboarding.failed').at(-1)?.reason, 'name_unusable')

  const ads = await onboardSeller(h, 'A3FOURTHSELLER', 'Atzr|IwEBI-fourth', { create: { ...spCreate, name: 'ads-us' } })
  t.equal(ads.done.statusCode, 409, 'a config credential of another API under the name')
})

t.test('Secrets Manager down at CreateSecret: 503, nothing created, the link works again', async (t) => {
  const h = await broker(t)
  const made = await createLink(h, { create: spCreate })
  const url = made.json().url as string
  const first = await open(h, url)
  h.sm?.failNext({ kind: 'error', type: 'InternalServiceError' }, 10, { operation: 'CreateSecret' })
  const failed = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBI-sm-down'), state: first.state, selling_partner_id: 'A3NEWSELLER' }, first.cookie)
  t.equal(failed.statusCode, 503)
  t.match(failed.body, 'could not be stored')
  t.equal(h.sm?.current(`${prefix}sp-A3NEWSELLER-eu`), undefined, 'nothing half-written')
  h.sm?.reset()
  const again = await open(h, url)
  t.equal(again.res.statusCode, 303, 'the failure was ours: the link is usable again')
  const done = await callback(h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBI-sm-back'), state: again.state, selling_partner_id: 'A3NEWSELLER' }, again.cookie)
  t.equal(done.statusCode, 200)
})

t.test('an Ads consent names its credential after the advertising account', async (t) => {
  const h = await broker(t)
  const made = await createLink(h, { create: { name: 'ads-{account}-{api}', api: 'ads', region: 'na', app: 'lwa/ads-us' } })
  const { state, cookie, location } = await open(h, made.json().url as string)
  t.equal(location?.searchParams.get('client_id'), fixtures.adsClient.clientId)
  const done = await callback(h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBI-new-advertiser'), state }, cookie)
  t.equal(done.statusCode, 200)
  const name = `ads-${advertiser.accountInfo.id}-ads`
  t.match(JSON.parse(h.sm?.current(`${prefix}${name}`)?.value ?? '{}'), { account_id: advertiser.accountInfo.id })
  t.equal(h.sm?.tags(`${prefix}${name}`)['lwa-broker:api'], 'ads')
  t.equal((await h.getToken(name, await h.jwt(platform))).statusCode, 200)
})

t.test('a vendor app is onboarded on Vendor Central, and its tags say so', async (t) => {
  const h = await broker(t)
  const { location, done } = await onboardSeller(h, 'A3VENDOR', 'Atzr|IwEBI-vendor', { create: { ...spCreate, vendor: true } })
  t.equal(location?.origin, 'https://vendorcentral.amazon.co.uk', 'the eu default; other marketplaces by consentUrls.sp-api-vendor')
  t.equal(done.statusCode, 200)
  t.equal(h.sm?.tags(`${prefix}sp-A3VENDOR-eu`)['lwa-broker:vendor'], 'true')
  const catalogued = h.services.catalogue.get('sp-A3VENDOR-eu')
  t.match(catalogued?.grant === 'refresh_token' && catalogued.onboarding, { api: 'sp-api', vendor: true }, 'read back from the tag')
  const again = await open(h, (await createLink(h, { credential: 'sp-A3VENDOR-eu' })).json().url as string)
  t.equal(again.location?.origin, 'https://vendorcentral.amazon.co.uk', 'a link for the credential goes there too')
})

t.test('bad create links are the admin\'s 400, with the reason', async (t) => {
  const h = await broker(t)
  const both = await createLink(h, { credential: 'ads-us', create: spCreate })
  t.equal(both.statusCode, 400)
  t.match(both.json().message, 'exactly one of "credential" and "create"')
  t.equal((await createLink(h, {})).statusCode, 400, 'neither')
  const { application_id: _none, ...noApp } = spCreate
  const missing = await createLink(h, { create: noApp })
  t.equal(missing.statusCode, 400)
  t.match(missing.json().message, 'create.application_id is required')
  t.equal((await createLink(h, { create: { ...spCreate, name: 'bad name{x}' } })).statusCode, 400, 'not a name template')

  const without = await broker(t, false)
  const refused = await createLink(without, { create: spCreate })
  t.equal(refused.statusCode, 400)
  t.match(refused.json().message, 'needs a catalogue')
})
