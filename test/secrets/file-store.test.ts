import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import type { CredentialConfig } from '../../src/config/index.js'
import { FileSecretStore, SecretError, readCredentialMaterial, type SecretErrorCode } from '../../src/secrets/index.js'
import { baseSecrets, fixtures } from '../helper.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Secrets = Record<string, unknown>

const adsSecret = { client_id: fixtures.adsClient.clientId, client_secret: fixtures.adsClient.clientSecret, refresh_token: fixtures.adsRefreshToken }

/** Writes `content` (an object as JSON, a string as is) to a file in a fresh directory. */
function secretsFile(t: Test, content: Secrets | string, name = 'secrets.json'): string {
  const path = join(t.testdir({}), name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** Rewrites the file and moves its mtime forward, as an editor saving a rotation would. */
function edit(path: string, secrets: Secrets, secondsLater: number): void {
  writeFileSync(path, JSON.stringify(secrets))
  const later = new Date(Date.now() + secondsLater * 1000)
  utimesSync(path, later, later)
}

/** The SecretError `promise` rejects with; a success or any other error fails the test. */
async function secretError(promise: Promise<unknown>): Promise<SecretError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof SecretError) return err
    throw err
  }
  throw new Error('expected a SecretError, but the secret was read')
}

t.test('reads a JSON secrets file', async (t) => {
  const store = new FileSecretStore(secretsFile(t, baseSecrets()))
  const secret = await store.get('lwa/ads-us')
  t.equal(secret.id, 'lwa/ads-us')
  t.same(secret.fields, adsSecret)
  t.match(secret.versionId, /^[0-9a-f]{8,}$/)
})

t.test('reads a YAML secrets file', async (t) => {
  const store = new FileSecretStore(secretsFile(t, stringify(baseSecrets()), 'secrets.yaml'))
  t.same((await store.get('lwa/ads-us')).fields, adsSecret)
  t.same((await store.get('lwa/sellers/acme')).fields, { refresh_token: fixtures.spRefreshToken })
})

t.test('a JSON file is read as JSON: a duplicated secret id counts once, its last value (YAML would refuse the file)', async (t) => {
  const first = JSON.stringify({ refresh_token: 'Atzr|first' })
  const last = JSON.stringify(adsSecret).slice(1, -1)
  const store = new FileSecretStore(secretsFile(t, `{"lwa/ads-us": ${first}, "lwa/ads-us": {${last}}}`))
  t.same((await store.get('lwa/ads-us')).fields, adsSecret)
})

t.test('a secret given as a JSON string (like a SecretString) is parsed', async (t) => {
  const store = new FileSecretStore(secretsFile(t, { 'lwa/ads-us': JSON.stringify(adsSecret) }))
  t.same((await store.get('lwa/ads-us')).fields, adsSecret)
})

t.test('versionId is stable for the same content and changes with the content', async (t) => {
  const path = secretsFile(t, baseSecrets())
  const store = new FileSecretStore(path)
  const first = (await store.get('lwa/ads-us')).versionId
  t.equal((await store.get('lwa/ads-us')).versionId, first, 'same store, same content')
  t.equal((await new FileSecretStore(path).get('lwa/ads-us')).versionId, first, 'another store, same content')
  t.not((await store.get('lwa/appstore')).versionId, first, 'another secret, another version')

  edit(path, { ...baseSecrets(), 'lwa/appstore': { client_id: 'other', client_secret: 'other' } }, 5)
  t.equal((await store.get('lwa/ads-us')).versionId, first, 'an untouched secret keeps its version when the file changes')
  edit(path, { ...baseSecrets(), 'lwa/ads-us': { ...adsSecret, client_secret: 'amzn1.oa2-cs.v1.rotated' } }, 10)
  t.not((await store.get('lwa/ads-us')).versionId, first, 'a changed secret gets a new version')
})

t.test('an edit to the file is picked up by the same store', async (t) => {
  const path = secretsFile(t, baseSecrets())
  const store = new FileSecretStore(path)
  t.equal((await store.get('lwa/ads-us')).fields.client_secret, fixtures.adsClient.clientSecret)
  edit(path, { ...baseSecrets(), 'lwa/ads-us': { ...adsSecret, client_secret: 'amzn1.oa2-cs.v1.rotated' } }, 5)
  t.equal((await store.get('lwa/ads-us')).fields.client_secret, 'amzn1.oa2-cs.v1.rotated')
  edit(path, { 'lwa/new': adsSecret }, 10)
  t.same((await store.get('lwa/new')).fields, adsSecret, 'a new secret appears')
  t.equal((await secretError(store.get('lwa/ads-us'))).code, 'not_found', 'a removed secret is gone')
})

t.test('an unknown id, or any stage but AWSCURRENT, is not_found', async (t) => {
  const store = new FileSecretStore(secretsFile(t, baseSecrets()))
  t.match(await secretError(store.get('lwa/nope')), { code: 'not_found', secretId: 'lwa/nope' })
  for (const stage of ['AWSPENDING', 'AWSPREVIOUS'] as const) {
    t.match(await secretError(store.get('lwa/ads-us', stage)), { code: 'not_found', secretId: 'lwa/ads-us' }, stage)
  }
})

// [case, file content (null: no file at all), reason when lwa/ads-us is read]
const unusable: Array<[string, Secrets | string | null, SecretErrorCode]> = [
  ['a secret that is a JSON array', { 'lwa/ads-us': ['client_id', 'client_secret'] }, 'malformed'],
  ['a secret that is a JSON array string', { 'lwa/ads-us': '["client_id"]' }, 'malformed'],
  ['a secret that is not JSON', { 'lwa/ads-us': 'client_secret=abc' }, 'malformed'],
  ['a secret that is a number', { 'lwa/ads-us': 42 }, 'malformed'],
  ['a file that is not JSON or YAML', '{"lwa/ads-us": {"client_id": ', 'malformed'],
  ['a file that is a list', '["lwa/ads-us"]', 'malformed'],
  ['a missing file', null, 'unavailable'],
]

t.test('an unusable secret or file is a SecretError with a reason', async (t) => {
  for (const [name, content, reason] of unusable) {
    t.test(name, async (t) => {
      const path = content === null ? join(t.testdir({}), 'absent.json') : secretsFile(t, content)
      t.equal((await secretError(new FileSecretStore(path).get('lwa/ads-us'))).code, reason)
    })
  }
})

t.test('a secrets path that is a directory is unavailable, not an unexpected error', async (t) => {
  const dir = join(t.testdir({}), 'secrets.json')
  mkdirSync(dir)
  t.equal((await secretError(new FileSecretStore(dir).get('lwa/ads-us'))).code, 'unavailable')
})

const credentials = {
  combined: { api: 'ads', region: 'na', grant: 'refresh_token', appSecret: 'lwa/ads-us', grantSecret: 'lwa/ads-us', profileId: undefined, sellingPartnerId: undefined, onboarding: undefined, labels: {} },
  split: { api: 'sp-api', region: 'eu', grant: 'refresh_token', appSecret: 'lwa/apps/sp', grantSecret: 'lwa/sellers/acme', profileId: undefined, sellingPartnerId: undefined, onboarding: undefined, labels: {} },
  grantless: { api: 'appstore', region: 'na', grant: 'client_credentials', scope: 'appstore::apps:readwrite', appSecret: 'lwa/appstore', labels: {} },
} satisfies Record<string, CredentialConfig>

// [case, credential, what it must read] — the version bookkeeping is the caller's concern, not asserted here.
const layouts: Array<[string, CredentialConfig, { clientId: string; clientSecret: string; refreshToken: string | undefined }]> = [
  ['one secret holding client_id, client_secret and refresh_token', credentials.combined,
    { clientId: fixtures.adsClient.clientId, clientSecret: fixtures.adsClient.clientSecret, refreshToken: fixtures.adsRefreshToken }],
  ['an app secret plus a grant secret', credentials.split,
    { clientId: fixtures.spClient.clientId, clientSecret: fixtures.spClient.clientSecret, refreshToken: fixtures.spRefreshToken }],
  ['client_credentials needs no refresh token', credentials.grantless,
    { clientId: fixtures.appstoreClient.clientId, clientSecret: fixtures.appstoreClient.clientSecret, refreshToken: undefined }],
]

t.test('readCredentialMaterial reads what each credential layout needs', async (t) => {
  for (const [name, credential, expected] of layouts) {
    t.test(name, async (t) => {
      const store = new FileSecretStore(secretsFile(t, baseSecrets()))
      const { clientId, clientSecret, refreshToken } = await readCredentialMaterial(store, credential)
      t.same({ clientId, clientSecret, refreshToken }, expected)
    })
  }
})

// [case, credential, secret id to replace, its content, field the error must name]
const missingFields: Array<[string, CredentialConfig, string, Secrets, string]> = [
  ['no refresh_token', credentials.combined, 'lwa/ads-us', { ...adsSecret, refresh_token: undefined }, 'refresh_token'],
  ['empty client_secret', credentials.combined, 'lwa/ads-us', { ...adsSecret, client_secret: '' }, 'client_secret'],
  ['client_id a number', credentials.combined, 'lwa/ads-us', { ...adsSecret, client_id: 1234567890 }, 'client_id'],
  ['client_secret an object', credentials.grantless, 'lwa/appstore', { client_id: 'amzn1.application-oa2-client.as0001', client_secret: { value: 'hunter2' } }, 'client_secret'],
  ['grant secret without refresh_token', credentials.split, 'lwa/sellers/acme', { refreshToken: fixtures.spRefreshToken }, 'refresh_token'],
  ['app secret without client_id', credentials.split, 'lwa/apps/sp', { client_secret: fixtures.spClient.clientSecret }, 'client_id'],
]

/** Every non-empty value inside a secret, however deep: none of them may reach an error message. */
const valuesIn = (value: unknown): string[] =>
  typeof value === 'string' ? (value === '' ? [] : [value])
    : typeof value === 'number' ? [String(value)]
    : value !== null && typeof value === 'object' ? Object.values(value).flatMap(valuesIn) : []

t.test('readCredentialMaterial: a missing, empty or non-string field is missing_field, named without values', async (t) => {
  for (const [name, credential, secretId, content, field] of missingFields) {
    t.test(name, async (t) => {
      const store = new FileSecretStore(secretsFile(t, { ...baseSecrets(), [secretId]: content }))
      const err = await secretError(readCredentialMaterial(store, credential))
      t.match(err, { code: 'missing_field', secretId, field })
      t.ok(err.message.includes(secretId), 'message names the secret')
      t.ok(err.message.includes(`"${field}"`), 'message names the field')
      t.same(valuesIn(content).filter((value) => err.message.includes(value)), [], 'no value from the secret appears')
    })
  }
})
