import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createBroker } from '../../src/http/broker.js'
import { ConfigError, parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/observability/logger.js'
import { baseConfig, baseSecrets, callerKeys } from '../helper.js'
import { LogCapture } from '../support/log-capture.js'
import { LwaEmulator } from '../support/lwa-emulator.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Doc = Record<string, unknown>

const file = '/etc/lwa-broker/broker.yaml'

/** Every URL-valued setting present and https://, so each case below changes exactly one. */
function secureConfig(): Doc {
  return {
    secrets: { backend: 'aws', region: 'us-east-1', endpoint: 'https://secretsmanager.us-east-1.amazonaws.com' },
    lwa: { endpoints: { na: 'https://api.amazon.com/auth/o2/token', eu: 'https://api.amazon.co.uk/auth/o2/token' } },
    ads: { endpoints: { na: 'https://advertising-api.amazon.com', eu: 'https://advertising-api-eu.amazon.com' } },
    issuers: [{ issuer: 'https://oidc.test.example/id/CLUSTER', audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { uri: 'https://oidc.test.example/keys' } }],
    onboarding: {
      publicUrl: 'https://broker.example.com',
      consentUrls: { ads: { na: 'https://www.amazon.com/ap/oa' } },
    },
    credentials: { 'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us' } },
  }
}

/** Sets fields by dotted path (numeric parts index arrays); `undefined` deletes. */
function patched(changes: Record<string, unknown>): Doc {
  const doc = secureConfig()
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.')
    const last = keys.pop() as string
    let node = doc
    for (const key of keys) node = (node[key] ??= {}) as Doc
    if (value === undefined) delete node[last]
    else node[last] = value
  }
  return doc
}

/** [field the error names, the changes that put `url` there] */
const fields: Array<[string, (url: string) => Record<string, unknown>]> = [
  ['secrets.endpoint', (url) => ({ 'secrets.endpoint': url })],
  ['lwa.endpoints.na', (url) => ({ 'lwa.endpoints.na': `${url}/auth/o2/token` })],
  ['ads.endpoints.eu', (url) => ({ 'ads.endpoints.eu': url })],
  ['issuers.0.jwks.uri', (url) => ({ 'issuers.0.jwks.uri': `${url}/keys` })],
  ['issuers.0.jwks.kubernetes.apiServer', (url) => ({ 'issuers.0.jwks.uri': undefined, 'issuers.0.jwks.kubernetes': { apiServer: url } })],
  ['issuers.0.issuer', (url) => ({ 'issuers.0.issuer': `${url}/id/CLUSTER`, 'issuers.0.jwks.uri': undefined, 'issuers.0.jwks.discovery': true })],
  ['onboarding.publicUrl', (url) => ({ 'onboarding.publicUrl': url })],
  ['onboarding.consentUrls.ads.na', (url) => ({ 'onboarding.consentUrls.ads.na': `${url}/ap/oa` })],
  ['onboarding.amazonOrigins.eu.0', (url) => ({ 'onboarding.amazonOrigins.eu': [url] })],
]

/** Plain http:// to hosts off this machine, including some that only look like loopback. */
const insecure = ['http://10.0.0.5:8080', 'http://lwa.internal.example', 'http://127.0.0.1.nip.io', 'http://localhost.attacker.example']
const loopback = ['http://127.0.0.1:4566', 'http://127.10.0.1:4566', 'http://[::1]:4566', 'http://localhost:4566', 'http://LOCALHOST:4566']

function configError(raw: Doc): ConfigError {
  try {
    parseConfig(raw, file)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected parseConfig to throw a ConfigError, but the config was accepted')
}

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: the all-https config loads', async (t) => {
  t.ok(parseConfig(secureConfig(), file))
})

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: a non-loopback http:// URL is refused, naming the field and the file', async (t) => {
  for (const [field, put] of fields) {
    for (const url of insecure) {
      const err = configError(patched(put(url)))
      t.equal(err.file, file, `${field} = ${url}: names the file`)
      t.same(err.problems.map((p) => p.field), [field], `${field} = ${url}: names exactly that field`)
      t.ok(err.message.includes(file) && err.message.includes(`- ${field}: must be https://`), `${field} = ${url}: the message says what is wrong`)
    }
  }
})

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: http:// to loopback and https:// are accepted', async (t) => {
  for (const [field, put] of fields) {
    for (const url of [...loopback, 'https://10.0.0.5:8443']) t.doesNotThrow(() => parseConfig(patched(put(url)), file), `${field} = ${url}`)
  }
})

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: allowInsecureEndpoints: true accepts them all', async (t) => {
  for (const [field, put] of fields) {
    for (const url of insecure) {
      t.doesNotThrow(() => parseConfig({ ...patched(put(url)), allowInsecureEndpoints: true }, file), `${field} = ${url}`)
    }
  }
  const every = patched(Object.assign({}, ...fields.filter(([f]) => f !== 'issuers.0.jwks.kubernetes.apiServer').map(([, put]) => put('http://10.0.0.5'))))
  t.equal(parseConfig({ ...every, allowInsecureEndpoints: true }, file).allowInsecureEndpoints, true, 'all of them at once')
})

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: an http:// issuer is only an identifier without discovery', async (t) => {
  // Nothing is fetched from `issuer` unless discovery is on: it is the `iss` claim, not a URL the broker calls.
  t.doesNotThrow(() => parseConfig(patched({ 'issuers.0.issuer': 'http://legacy-issuer.example' }), file))
})

/** createBroker as main.ts calls it, on a config with the LWA emulator and a secrets file; closed by the test. */
async function startBroker(t: Test, extra: Doc): Promise<LogCapture> {
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  const dir = t.testdir({})
  const secretsPath = join(dir, 'secrets.json')
  writeFileSync(secretsPath, JSON.stringify(baseSecrets()))
  const raw = { ...baseConfig(lwa, secretsPath, (await callerKeys()).jwks), shutdown: { drainSeconds: 0, graceSeconds: 1 }, audit: { destination: join(dir, 'audit.log') }, ...extra }
  const logs = new LogCapture()
  const broker = await createBroker(parseConfig(raw, join(dir, 'broker.yaml')), { logger: createLogger('info', logs) })
  await broker.close()
  return logs
}

const insecureWarning = (logs: LogCapture) => logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('INSECURE ENDPOINTS ALLOWED'))

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: a broker started with allowInsecureEndpoints says so loudly', async (t) => {
  const warned = insecureWarning(await startBroker(t, { allowInsecureEndpoints: true }))
  t.equal(warned.length, 1, 'one warning at start-up')
  t.match(warned[0], { level: 40, msg: /allowInsecureEndpoints: true.*plain http:\/\/.*Never in production/ })
  t.same(insecureWarning(await startBroker(t, {})), [], 'no warning without it')
})
