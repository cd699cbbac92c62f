import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { ConfigError, loadConfig, parseConfig, type ConfigEnv } from '../../src/config/index.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Doc = Record<string, unknown>

const issuer = 'https://oidc.test.example/id/CLUSTER'

/** The smallest config that starts: everything else comes from named defaults. */
function minimalConfig(): Doc {
  return {
    secrets: { backend: 'file', path: 'secrets.json' },
    issuers: [{ issuer, audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { file: 'jwks.json' } }],
    credentials: { 'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us' } },
  }
}

/** One credential of each kind and a policy, so each bad-input case is a one-field change. */
function fullConfig(): Doc {
  return {
    ...minimalConfig(),
    credentials: {
      'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us', profileId: '2502259796' },
      'sp-eu': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/acme' },
      'sp-notify': { api: 'sp-api', region: 'na', grant: 'client_credentials', scope: 'sellingpartnerapi::notifications', app: 'lwa/apps/sp' },
      store: { api: 'appstore', region: 'fe', grant: 'client_credentials', scope: 'appstore::apps:readwrite', secret: 'lwa/appstore' },
    },
    policy: [{ subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'] }],
  }
}

/** Writes `text` (or a doc as YAML) as broker.yaml in a fresh directory; returns its path. */
function writeConfig(t: Test, content: Doc | string): string {
  const file = join(t.testdir({}), 'broker.yaml')
  writeFileSync(file, typeof content === 'string' ? content : stringify(content))
  return file
}

/** Sets (or with `undefined`, deletes) fields by dotted path: `{ 'credentials.ads-us.region': 'mars' }`. */
function patch(changes: Record<string, unknown>): (doc: Doc) => void {
  return (doc) => {
    for (const [path, value] of Object.entries(changes)) {
      const keys = path.split('.')
      const last = keys.pop() as string
      let node = doc
      for (const key of keys) node = (node[key] ??= {}) as Doc
      if (value === undefined) delete node[last]
      else node[last] = value
    }
  }
}

/** The ConfigError `load` throws; anything else (including no error) fails the test. */
function configError(load: () => unknown): ConfigError {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected loadConfig to throw a ConfigError, but it loaded')
}

/** The error names the file and the field, both in `problems` and in the message an operator reads. */
function assertNames(t: Test, err: ConfigError, file: string, field: string): void {
  t.equal(err.file, file)
  t.ok(err.message.includes(file), 'message names the file')
  t.ok(err.problems.some((p) => p.field === field), `problems name ${field} (got ${err.problems.map((p) => p.field).join(', ')})`)
  t.ok(err.message.includes(`- ${field}: `), `message names ${field}`)
}

t.test('a minimal file loads with every named default filled', async (t) => {
  const config = loadConfig(writeConfig(t, minimalConfig()))
  t.same(config.listen, { host: '127.0.0.1', port: 8787 })
  t.equal(config.logLevel, 'info')
  t.equal(config.lwa.timeoutMs, 5000)
  t.same(config.lwa.endpoints, {})
  t.equal(config.tokens.refreshAheadRatio, 0.5)
  t.equal(config.tokens.defaultMinTtlSeconds, 60)
  t.equal(config.credentials['ads-us']?.grant, 'refresh_token')
  t.equal(config.issuers[0]?.clockToleranceSeconds, 5)
  t.equal(config.secrets.refreshSeconds, 300)
  t.same(config.policy, [])
})

t.test('the loaded config is deeply frozen', async (t) => {
  const file = writeConfig(t, fullConfig())
  const config = loadConfig(file)
  const mutations: Array<[string, () => void]> = [
    ['top level', () => { (config as Doc).logLevel = 'trace' }],
    ['listen.port', () => { (config.listen as Doc).port = 1 }],
    ['a credential', () => { (config.credentials['ads-us'] as unknown as Doc).grantSecret = 'other' }],
    ['an issuer audience list', () => { (config.issuers[0]?.audiences as string[]).push('anyone') }],
    ['a policy rule', () => { (config.policy[0]?.credentials as string[]).push('*') }],
  ]
  for (const [what, mutate] of mutations) t.throws(mutate, TypeError, `${what} cannot be changed`)
  t.same(config, loadConfig(file), 'nothing changed')
})

t.test('relative secrets.path and jwks.file resolve against the config file, not the cwd', async (t) => {
  const dir = t.testdir({})
  mkdirSync(join(dir, 'conf'))
  const file = join(dir, 'conf', 'broker.yaml')
  const doc = minimalConfig()
  patch({ 'secrets.path': 'secrets.yaml', 'issuers.0.jwks.file': '../keys/jwks.json' })(doc)
  ;(doc.issuers as Doc[]).push({ issuer: 'https://other.example', audiences: ['x'], algorithms: ['ES256'], jwks: { file: '/etc/broker/jwks.json' } })
  writeFileSync(file, stringify(doc))
  const config = loadConfig(file)
  t.equal(config.secrets.path, join(dir, 'conf', 'secrets.yaml'))
  t.equal(config.issuers[0]?.jwks.file, join(dir, 'keys', 'jwks.json'))
  t.equal(config.issuers[1]?.jwks.file, '/etc/broker/jwks.json', 'an absolute path is kept')
})

t.test('LWA_BROKER_HOST, _PORT and _LOG_LEVEL override the file', async (t) => {
  const file = writeConfig(t, { ...minimalConfig(), listen: { host: '127.0.0.1', port: 8080 }, logLevel: 'warn' })
  const env: ConfigEnv = { LWA_BROKER_HOST: '0.0.0.0', LWA_BROKER_PORT: '9090', LWA_BROKER_LOG_LEVEL: 'debug' }
  const config = loadConfig(file, env)
  t.same(config.listen, { host: '0.0.0.0', port: 9090 })
  t.equal(config.logLevel, 'debug')

  const untouched = loadConfig(file, {})
  t.same(untouched.listen, { host: '127.0.0.1', port: 8080 }, 'no env: the file wins')
  t.equal(untouched.logLevel, 'warn')
})

t.test('a bad value from the environment is checked like one from the file', async (t) => {
  const file = writeConfig(t, minimalConfig())
  assertNames(t, configError(() => loadConfig(file, { LWA_BROKER_PORT: 'abc' })), file, 'listen.port')
  assertNames(t, configError(() => loadConfig(file, { LWA_BROKER_LOG_LEVEL: 'loud' })), file, 'logLevel')
})

t.test('the config the bad-input cases start from is valid', async (t) => {
  t.ok(loadConfig(writeConfig(t, fullConfig())))
})

// [case, change to fullConfig(), field the error must name]
const badInputs: Array<[string, (doc: Doc) => void, string]> = [
  // schema: unknown keys, enums, types, required fields, credential names
  ['unknown top-level key', patch({ logLvel: 'debug' }), 'logLvel'],
  ['unknown nested key', patch({ 'credentials.ads-us.regoin': 'na' }), 'credentials.ads-us.regoin'],
  ['unknown key under lwa.endpoints', patch({ 'lwa.endpoints.us': 'https://api.amazon.com/auth/o2/token' }), 'lwa.endpoints.us'],
  ['unknown region', patch({ 'credentials.ads-us.region': 'us-east-1' }), 'credentials.ads-us.region'],
  ['unknown api', patch({ 'credentials.ads-us.api': 'dsp' }), 'credentials.ads-us.api'],
  ['unknown grant', patch({ 'credentials.ads-us.grant': 'password' }), 'credentials.ads-us.grant'],
  ['algorithm none', patch({ 'issuers.0.algorithms': ['none'] }), 'issuers.0.algorithms.0'],
  ['algorithm HS256', patch({ 'issuers.0.algorithms': ['RS256', 'HS256'] }), 'issuers.0.algorithms'],
  ['unknown secrets backend', patch({ 'secrets.backend': 'vault' }), 'secrets.backend'],
  ['unknown log level', patch({ logLevel: 'loud' }), 'logLevel'],
  ['port not a number', patch({ 'listen.port': 'abc' }), 'listen.port'],
  ['port out of range', patch({ 'listen.port': 70000 }), 'listen.port'],
  ['listen given as a bare port', patch({ listen: 9000 }), 'listen'],
  ['listen given as host:port', patch({ listen: '0.0.0.0:9000' }), 'listen'],
  ['timeoutMs below the minimum', patch({ 'lwa.timeoutMs': 10 }), 'lwa.timeoutMs'],
  ['refreshAheadRatio of 1', patch({ 'tokens.refreshAheadRatio': 1 }), 'tokens.refreshAheadRatio'],
  ['endpoint that is not a URL', patch({ 'lwa.endpoints.eu': 'api.amazon.co.uk' }), 'lwa.endpoints.eu'],
  ['profileId that is not digits', patch({ 'credentials.ads-us.profileId': 'ENTITY123' }), 'credentials.ads-us.profileId'],
  ['audiences empty', patch({ 'issuers.0.audiences': [] }), 'issuers.0.audiences'],
  ['issuers missing', patch({ issuers: undefined }), 'issuers'],
  ['issuers empty', patch({ issuers: [] }), 'issuers'],
  ['credentials missing', patch({ credentials: undefined }), 'credentials'],
  ['credential api missing', patch({ 'credentials.ads-us.api': undefined }), 'credentials.ads-us.api'],
  ['credential name with a space', patch({ 'credentials.ads us': { api: 'ads', region: 'na', secret: 'lwa/x' } }), 'credentials.ads us'],
  ['credential name starting with a dash', patch({ 'credentials.-ads': { api: 'ads', region: 'na', secret: 'lwa/x' } }), 'credentials.-ads'],
  // semantic rules (check.ts)
  ['file backend without path', patch({ 'secrets.path': undefined }), 'secrets.path'],
  ['duplicate issuer', (doc) => { (doc.issuers as Doc[]).push(structuredClone((doc.issuers as Doc[])[0] as Doc)) }, 'issuers.1.issuer'],
  ['jwks with both keys and file', patch({ 'issuers.0.jwks.keys': [{ kty: 'EC' }] }), 'issuers.0.jwks'],
  ['jwks with neither keys nor file', patch({ 'issuers.0.jwks.file': undefined }), 'issuers.0.jwks'],
  ['jwks with a file and a uri', patch({ 'issuers.0.jwks.uri': 'https://issuer.example/keys' }), 'issuers.0.jwks'],
  ['jwks uri that is not a URL', patch({ 'issuers.0.jwks.file': undefined, 'issuers.0.jwks.uri': 'issuer.example/keys' }), 'issuers.0.jwks.uri'],
  ['kubernetes source without apiServer', patch({ 'issuers.0.jwks.file': undefined, 'issuers.0.jwks.kubernetes': { caFile: '/ca.crt' } }), 'issuers.0.jwks.kubernetes.apiServer'],
  ['HS algorithms without a shared secret', patch({ 'issuers.0.algorithms': ['HS256'] }), 'issuers.0.algorithms'],
  ['a shared secret with RS algorithms', patch({ 'issuers.0.jwks.file': undefined, 'issuers.0.sharedSecretFile': '/s', 'issuers.0.algorithms': ['HS256', 'RS256'] }), 'issuers.0.algorithms'],
  ['a shared secret with a JWKS too', patch({ 'issuers.0.sharedSecretFile': '/s', 'issuers.0.algorithms': ['HS256'] }), 'issuers.0.jwks'],
  ['sidecar mode on a public address', patch({ mode: 'sidecar', 'listen.host': '0.0.0.0' }), 'listen.host'],
  ['unknown mode', patch({ mode: 'edge' }), 'mode'],
  ['rate limit of zero', patch({ 'rateLimit.max': 0 }), 'rateLimit.max'],
  ['unknown key in a policy rule kubernetes block', patch({ 'policy.0.kubernetes': { ns: 'ads' } }), 'policy.0.kubernetes.ns'],
  ['refresh_token grant without secret', patch({ 'credentials.sp-eu.secret': undefined }), 'credentials.sp-eu.secret'],
  ['scope on a refresh_token grant', patch({ 'credentials.ads-us.scope': 'advertising::campaign_management' }), 'credentials.ads-us.scope'],
  ['client_credentials without scope', patch({ 'credentials.sp-notify.scope': undefined }), 'credentials.sp-notify.scope'],
  ['client_credentials without app or secret', patch({ 'credentials.sp-notify.app': undefined }), 'credentials.sp-notify.app'],
  ['ads with client_credentials', patch({ 'credentials.ads-us.grant': 'client_credentials', 'credentials.ads-us.scope': 'advertising::campaign_management' }), 'credentials.ads-us.grant'],
  ['appstore with refresh_token', patch({ 'credentials.store.grant': 'refresh_token', 'credentials.store.scope': undefined }), 'credentials.store.grant'],
  ['profileId on sp-api', patch({ 'credentials.sp-eu.profileId': '123' }), 'credentials.sp-eu.profileId'],
  ['policy rule granting nothing', patch({ 'policy.0.credentials': undefined }), 'policy.0'],
  ['policy rule naming an unknown issuer', patch({ 'policy.0.issuer': 'https://stranger.example' }), 'policy.0.issuer'],
  ['policy rule without issuer when two issuers exist', (doc) => {
    (doc.issuers as Doc[]).push({ issuer: 'https://other.example', audiences: ['lwa-broker'], algorithms: ['ES256'], jwks: { file: 'other.json' } })
  }, 'policy.0.issuer'],
]

t.test('each bad input stops loading with the file and the field named', async (t) => {
  for (const [name, mutate, field] of badInputs) {
    t.test(name, async (t) => {
      const doc = fullConfig()
      mutate(doc)
      const file = writeConfig(t, doc)
      assertNames(t, configError(() => loadConfig(file)), file, field)
    })
  }
})

t.test('several problems at once are all reported', async (t) => {
  const schema = fullConfig()
  patch({ 'credentials.ads-us.region': 'mars', 'listen.port': -1, 'issuers.0.algorithms': ['none'], extra: true })(schema)
  const semantic = fullConfig()
  patch({ 'secrets.path': undefined, 'credentials.sp-eu.profileId': '1', 'policy.0.credentials': [] })(semantic)
  const cases: Array<[string, Doc, string[]]> = [
    ['schema', schema, ['credentials.ads-us.region', 'listen.port', 'issuers.0.algorithms.0', 'extra']],
    ['semantic', semantic, ['secrets.path', 'credentials.sp-eu.profileId', 'policy.0']],
  ]
  for (const [kind, doc, fields] of cases) {
    t.test(kind, async (t) => {
      const file = writeConfig(t, doc)
      const err = configError(() => loadConfig(file))
      for (const field of fields) assertNames(t, err, file, field)
    })
  }
})

// [case, file content or null for no file, what the message must say]
const unreadable: Array<[string, string | null, RegExp]> = [
  ['unclosed flow sequence', 'secrets:\n  backend: file\n  path: [unclosed\nissuers: []\n', /not valid YAML at line 4\b/],
  ['nested compact mapping', 'logLevel: info\nlisten: host: x\n', /not valid YAML at line 2\b/],
  ['tab-indented YAML', 'secrets:\n\tbackend: file\n', /not valid YAML at line 2\b/],
  ['duplicate key', 'logLevel: info\nlogLevel: debug\n', /not valid YAML at line 2\b/],
  ['missing file', null, /cannot read the file \(ENOENT\)/],
  ['empty file', '', /is required/],
  ['a YAML list at top level', '- secrets\n- issuers\n', /must be a YAML mapping/],
  ['a YAML scalar at top level', 'just text\n', /must be a YAML mapping/],
]

t.test('a file that is not a config mapping is a ConfigError naming the file', async (t) => {
  for (const [name, content, says] of unreadable) {
    t.test(name, async (t) => {
      const file = content === null ? join(t.testdir({}), 'absent.yaml') : writeConfig(t, content)
      const err = configError(() => loadConfig(file))
      t.equal(err.file, file)
      t.ok(err.message.includes(file), 'message names the file')
      t.match(err.message, says)
    })
  }
})

t.test('an empty file names each required section', async (t) => {
  const file = writeConfig(t, '')
  const err = configError(() => loadConfig(file))
  for (const field of ['secrets', 'issuers', 'credentials']) assertNames(t, err, file, field)
})

t.test('a config given as an object is copied, not changed, and a value that is not plain data is refused by name', async (t) => {
  const raw = minimalConfig()
  const before = structuredClone(raw)
  const config = parseConfig(raw, '/etc/lwa-broker/broker.yaml')
  t.same(raw, before, 'defaults are written into the copy')
  t.equal(config.credentials['ads-us']?.region, 'na')
  const odd = { ...raw, credentials: { 'ads-us': { api: 'ads', region: new Date(0), secret: 'lwa/ads-us' } } }
  const err = (() => {
    try {
      parseConfig(odd, '/etc/lwa-broker/broker.yaml')
    } catch (caught) {
      return caught
    }
  })()
  t.ok(err instanceof ConfigError)
  t.match((err as ConfigError).problems, [{ field: 'credentials.ads-us.region' }])
})
