import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import t from 'tap'
import { cli } from '../support/run-cli.js'
import { stringify } from 'yaml'

/** The CLI as operators run it, through tsx from the repo root. */
const { publicKey } = await generateKeyPair('ES256')
const jwk = { ...(await exportJWK(publicKey)), kid: 'ec-1', alg: 'ES256' }

function goodConfig(): Record<string, unknown> {
  return {
    secrets: { backend: 'file', path: './secrets.json' },
    issuers: [
      { issuer: 'https://oidc.test.example/id/CLUSTER', audiences: ['lwa-broker'], algorithms: ['ES256'], jwks: { keys: [jwk] } },
      { issuer: 'https://billing-jobs.internal.example', audiences: ['lwa-broker'], algorithms: ['ES256'], jwks: { file: './billing.jwks.json' } },
    ],
    credentials: {
      'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us', profileId: '2502259796' },
      'sp-acme-eu': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/acme' },
      'sp-notifications': { api: 'sp-api', region: 'na', grant: 'client_credentials', scope: 'sellingpartnerapi::notifications', app: 'lwa/apps/sp' },
    },
    policy: [
      { issuer: 'https://oidc.test.example/id/CLUSTER', subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'] },
      { issuer: 'https://oidc.test.example/id/CLUSTER', subject: 'system:serviceaccount:platform:admin', admin: true },
    ],
  }
}

t.test('a good file: exit 0 and a summary of what the broker would run with', async (t) => {
  const file = join(t.testdir({ 'broker.yaml': stringify(goodConfig()) }), 'broker.yaml')
  const { code, stdout, stderr } = await cli(['check-config', file])
  t.equal(code, 0)
  t.equal(stderr, '')
  t.match(stdout, `config OK: ${file}`)
  t.match(stdout, 'mode: central (listen 127.0.0.1:8787)')
  t.match(stdout, /secrets: file \(.*secrets\.json; for local use only\)/)
  t.match(stdout, 'issuers: 2')
  t.match(stdout, '  - https://oidc.test.example/id/CLUSTER: keys from inline; ES256')
  t.match(stdout, '  - https://billing-jobs.internal.example: keys from file; ES256')
  t.match(stdout, 'credentials: 3 (ads 1, sp-api 2)')
  t.match(stdout, 'policy: 2 rules (1 admin)')
  t.notMatch(stdout, jwk.x as string, 'key material is not echoed')
})

t.test('the path defaults to $LWA_BROKER_CONFIG, and the environment overrides are applied as at start-up', async (t) => {
  const file = join(t.testdir({ 'broker.yaml': stringify(goodConfig()) }), 'broker.yaml')
  const ok = await cli(['check-config'], { LWA_BROKER_CONFIG: file, LWA_BROKER_PORT: '9999' })
  t.equal(ok.code, 0)
  t.match(ok.stdout, `config OK: ${file}`)
  t.match(ok.stdout, 'environment overrides applied: LWA_BROKER_PORT')
  t.match(ok.stdout, 'listen 127.0.0.1:9999')

  const bad = await cli(['check-config', file], { LWA_BROKER_PORT: 'eighty' })
  t.equal(bad.code, 2)
  t.match(bad.stderr, `${file}: listen.port: must be integer`)
})

const badFiles: { name: string; edit: (c: Record<string, any>) => void; lines: string[] }[] = [
  { name: 'an unknown key', edit: (c) => { c.credentials['ads-us'].regoin = 'na' }, lines: ['credentials.ads-us.regoin: is not a known setting'] },
  { name: 'a bad region', edit: (c) => { c.credentials['ads-us'].region = 'mars' }, lines: ['credentials.ads-us.region: must be one of: na, eu, fe'] },
  {
    name: 'a refresh_token credential without its secret',
    edit: (c) => { delete c.credentials['sp-acme-eu'].secret },
    lines: ['credentials.sp-acme-eu.secret: is required for the refresh_token grant (it holds refresh_token)'],
  },
  {
    name: 'several problems at once',
    edit: (c) => { c.credentials['ads-us'].region = 'mars'; c.logLevel = 'loud'; delete c.secrets.path },
    lines: ['logLevel: must be one of:', 'credentials.ads-us.region: must be one of: na, eu, fe'],
  },
]

for (const bad of badFiles) {
  t.test(`${bad.name}: exit 2, one FILE: FIELD: MESSAGE line per problem`, async (t) => {
    const config = goodConfig()
    bad.edit(config)
    const file = join(t.testdir({ 'broker.yaml': stringify(config) }), 'broker.yaml')
    const { code, stdout, stderr } = await cli(['check-config', file])
    t.equal(code, 2)
    t.equal(stdout, '')
    for (const line of bad.lines) t.match(stderr, `${file}: ${line}`)
    for (const line of stderr.trimEnd().split('\n')) t.ok(line.startsWith(`${file}: `), `names the file: ${line}`)
  })
}

t.test('a YAML syntax error names the file and line', async (t) => {
  const file = join(t.testdir({ 'broker.yaml': 'secrets: { backend: file\nissuers: [\n' }), 'broker.yaml')
  const { code, stderr } = await cli(['check-config', file])
  t.equal(code, 2)
  t.match(stderr, new RegExp(`^${file}: \\(top level\\): not valid YAML at line \\d+$`, 'm'))
})

t.test('a missing file: exit 2 naming the path', async (t) => {
  const file = join(t.testdir({}), 'nope.yaml')
  const { code, stderr } = await cli(['check-config', file])
  t.equal(code, 2)
  t.equal(stderr, `${file}: (top level): cannot read the file (ENOENT)\n`)
})

t.test('a bad value is named by its field, never echoed', async (t) => {
  const config = goodConfig()
  ;(config.credentials as Record<string, Record<string, string>>)['ads-us']!.profileId = 'amzn1.oa2-cs.v1.looks-secret'
  const file = join(t.testdir({ 'broker.yaml': stringify(config) }), 'broker.yaml')
  const { code, stderr } = await cli(['check-config', file])
  t.equal(code, 2)
  t.match(stderr, `${file}: credentials.ads-us.profileId: must match pattern`)
  t.notMatch(stderr, 'looks-secret')
})

t.test('--json: the machine-readable result on stdout, same exit codes', async (t) => {
  const dir = t.testdir({ 'good.yaml': stringify(goodConfig()), 'bad.yaml': 'credentials: 3\n' })
  const good = await cli(['check-config', '--json', join(dir, 'good.yaml')])
  t.equal(good.code, 0)
  const ok = JSON.parse(good.stdout)
  t.match(ok, { ok: true, file: join(dir, 'good.yaml'), problems: [] })
  t.match(ok.summary, { mode: 'central', secrets: { backend: 'file' }, credentials: { total: 3, byApi: { ads: 1, 'sp-api': 2 } }, policy: { rules: 2, adminRules: 1 } })
  t.same(ok.summary.issuers.map((i: { keySource: string }) => i.keySource), ['inline', 'file'])

  const bad = await cli(['check-config', join(dir, 'bad.yaml'), '--json'])
  t.equal(bad.code, 2)
  t.equal(bad.stderr, '')
  const result = JSON.parse(bad.stdout)
  t.match(result, { ok: false, file: join(dir, 'bad.yaml') })
  t.same(result.problems, [
    { field: 'secrets', message: 'is required' },
    { field: 'issuers', message: 'is required' },
    { field: 'credentials', message: 'must be object' },
  ], 'every problem, each with field and message')
})

t.test('usage errors exit 2', async (t) => {
  const res = await cli(['check-config', 'a.yaml', 'b.yaml'])
  t.equal(res.code, 2)
  t.match(res.stderr, 'lwa-broker check-config: expects at most one PATH')
  t.equal((await cli(['check-config', '--verbose'])).code, 2)
})
