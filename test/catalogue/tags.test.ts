import t from 'tap'
import { credentialFromTags, tagsOf, type ListedSecret } from '../../src/catalogue/tags.js'

const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lwa-broker/sellers/acme-AbCdEf'
const listed = (tags: Record<string, string>): ListedSecret => ({ arn, name: 'lwa-broker/sellers/acme', tags })
const seller = {
  'lwa-broker:credential': 'sp-acme-us', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'na',
  'lwa-broker:app': 'lwa/apps/sp', 'lwa-broker:selling-partner-id': 'A2EUQ1WTGCTBG2',
  'lwa-broker:application-id': 'amzn1.sp.solution.0001', 'lwa-broker:label:tenant': 'acme',
}

t.test('a tagged seller secret declares the credential its tags say, with the secret itself as the grant', async (t) => {
  const tagged = credentialFromTags(listed({ ...seller, Owner: 'someone-else' }))
  t.ok(tagged.ok)
  if (!tagged.ok) return
  t.equal(tagged.name, 'sp-acme-us')
  t.match(tagged.credential, {
    grant: 'refresh_token', api: 'sp-api', region: 'na', appSecret: 'lwa/apps/sp', grantSecret: arn,
    sellingPartnerId: 'A2EUQ1WTGCTBG2', onboarding: { api: 'sp-api', applicationId: 'amzn1.sp.solution.0001', draft: false },
    labels: { tenant: 'acme' },
  })
})

t.test('grantless and one-secret layouts read as the config file would', async (t) => {
  const grantless = credentialFromTags(listed({ 'lwa-broker:credential': 'notify', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'eu', 'lwa-broker:grant': 'client_credentials', 'lwa-broker:scope': 'sellingpartnerapi::notifications' }))
  t.match(grantless, { ok: true, credential: { grant: 'client_credentials', appSecret: arn, scope: 'sellingpartnerapi::notifications' } })
  const adsOk = credentialFromTags(listed({ 'lwa-broker:credential': 'ads-acme', 'lwa-broker:api': 'ads', 'lwa-broker:region': 'fe', 'lwa-broker:profile-id': '2502259796' }))
  t.match(adsOk, { ok: true, credential: { appSecret: arn, grantSecret: arn, profileId: '2502259796', onboarding: { api: 'ads' } } })
})

t.test('a bad tag is named, with the rule it breaks (the same rules as the config file)', async (t) => {
  const table: Array<[string, Record<string, string>, string, RegExp]> = [
    ['unknown api', { ...seller, 'lwa-broker:api': 'mws' }, 'lwa-broker:api', /must be equal to one of|allowed/],
    ['unknown region', { ...seller, 'lwa-broker:region': 'us' }, 'lwa-broker:region', /./],
    ['missing region', { 'lwa-broker:credential': 'x', 'lwa-broker:api': 'ads' }, 'lwa-broker:region', /required/],
    ['profile id that is not a number', { 'lwa-broker:credential': 'x', 'lwa-broker:api': 'ads', 'lwa-broker:region': 'na', 'lwa-broker:profile-id': 'abc' }, 'lwa-broker:profile-id', /pattern/],
    ['profile id on an SP-API credential', { ...seller, 'lwa-broker:profile-id': '123' }, 'lwa-broker:profile-id', /only to api "ads"/],
    ['scope on a refresh-token credential', { ...seller, 'lwa-broker:scope': 'x' }, 'lwa-broker:scope', /only to the client_credentials grant/],
    ['grantless without a scope', { 'lwa-broker:credential': 'x', 'lwa-broker:api': 'appstore', 'lwa-broker:region': 'na', 'lwa-broker:grant': 'client_credentials' }, 'lwa-broker:scope', /required/],
    ['a tag the scheme does not have', { ...seller, 'lwa-broker:profile': '1' }, 'lwa-broker:profile', /not a known lwa-broker tag/],
    ['a label name with capitals', { ...seller, 'lwa-broker:label:Tenant': 'acme' }, 'lwa-broker:label:Tenant', /not a valid label name/],
    ['a draft that is not true or false', { ...seller, 'lwa-broker:draft': 'yes' }, 'lwa-broker:draft', /boolean/],
  ]
  for (const [name, tags, tag, message] of table) {
    const tagged = credentialFromTags(listed(tags))
    t.equal(tagged.ok, false, name)
    if (tagged.ok) continue
    t.equal(tagged.problem.tag, tag, `${name}: names ${tag}`)
    t.match(tagged.problem.message, message, `${name}: says why`)
  }
})

t.test('a missing or unusable name tag names no credential', async (t) => {
  for (const name of [undefined, '', '-leading-dash', 'has space', 'x'.repeat(129)]) {
    const tags: Record<string, string> = { 'lwa-broker:api': 'ads', 'lwa-broker:region': 'na' }
    if (name !== undefined) tags['lwa-broker:credential'] = name
    t.match(credentialFromTags(listed(tags)), { ok: false, name: undefined, problem: { tag: 'lwa-broker:credential' } }, String(name))
  }
})

t.test('a refused credential keeps the api and region that were valid, for status', async (t) => {
  t.match(credentialFromTags(listed({ ...seller, 'lwa-broker:profile-id': 'abc' })), { ok: false, partial: { api: 'sp-api', region: 'na' } })
  t.match(credentialFromTags(listed({ ...seller, 'lwa-broker:api': 'mws', 'lwa-broker:region': 'mars' })), { ok: false, partial: {} })
  t.notMatch(credentialFromTags(listed({ ...seller, 'lwa-broker:api': 'mws' })), { partial: { api: String } }, 'an invalid api is not shown')
})

t.test('tagsOf writes what credentialFromTags reads back', async (t) => {
  const fields = {
    api: 'sp-api' as const, region: 'eu' as const, app: 'lwa/apps/sp', sellingPartnerId: 'A1B2C3',
    onboarding: { applicationId: 'amzn1.sp.solution.0002', draft: true }, labels: { tenant: 'globex', team: 'retail' },
  }
  const tags = tagsOf('sp-globex-eu', fields)
  t.same(tags, {
    'lwa-broker:credential': 'sp-globex-eu', 'lwa-broker:api': 'sp-api', 'lwa-broker:region': 'eu', 'lwa-broker:app': 'lwa/apps/sp',
    'lwa-broker:selling-partner-id': 'A1B2C3', 'lwa-broker:application-id': 'amzn1.sp.solution.0002', 'lwa-broker:draft': 'true',
    'lwa-broker:label:tenant': 'globex', 'lwa-broker:label:team': 'retail',
  })
  t.match(credentialFromTags(listed(tags)), {
    ok: true, name: 'sp-globex-eu',
    credential: { api: 'sp-api', region: 'eu', appSecret: 'lwa/apps/sp', onboarding: { draft: true }, labels: { tenant: 'globex', team: 'retail' } },
  })
})
