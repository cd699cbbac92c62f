import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseConfig, type ConfigProblem } from '../../src/config/index.js'
import { problemsOf } from '../support/config-problems.js'
import { loadWebhookKey } from '../../src/lifecycle/webhook-key.js'
import { FileSecretStore } from '../../src/secrets/file-store.js'

const file = '/etc/lwa-broker/broker.yaml'
const key = 'whsec-config-test-0123456789abcdef0123456'

function load(lifecycle: unknown, extra: Record<string, unknown> = {}) {
  return parseConfig({
    secrets: { backend: 'file', path: 'secrets.json' },
    issuers: [{ issuer: 'https://oidc.test.example/id/CLUSTER', audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { file: 'jwks.json' } }],
    credentials: { 'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us' } },
    ...(lifecycle === undefined ? {} : { lifecycle }),
    ...extra,
  }, file)
}

const problems = (lifecycle: unknown, extra?: Record<string, unknown>): ConfigProblem[] =>
  problemsOf(() => load(lifecycle, extra))

t.test('lifecycle is optional; its defaults are filled in and keyFile resolves against the config file', async (t) => {
  t.same(load(undefined).lifecycle, { expiryWarningDays: 30 })
  t.same(load({ webhook: { url: 'https://hooks.example.com/lwa', keyFile: 'webhook.key' } }).lifecycle.webhook, {
    url: 'https://hooks.example.com/lwa', keyFile: '/etc/lwa-broker/webhook.key',
    timeoutMs: 5000, maxQueue: 1000, maxAttempts: 8,
  })
  t.equal(load({ webhook: { url: 'http://127.0.0.1:9000/hook', keySecret: 'lwa-broker/webhook' } })
    .lifecycle.webhook?.keySecret, 'lwa-broker/webhook', 'loopback http:// is fine, like every other URL')
})

t.test('a bad lifecycle setting names the field', async (t) => {
  const exactlyOne = 'exactly one of keyFile or keySecret is required: every delivery is signed with the key'
  const insecure = 'must be https:// (plain http:// only to a loopback address, or with allowInsecureEndpoints: true)'
  const cases: Array<[string, unknown, ConfigProblem[]]> = [
    ['no key', { webhook: { url: 'https://h.example' } }, [{ field: 'lifecycle.webhook.keyFile', message: exactlyOne }]],
    ['both keys', { webhook: { url: 'https://h.example', keyFile: 'k', keySecret: 's' } },
      [{ field: 'lifecycle.webhook.keyFile', message: exactlyOne }]],
    ['plain http off this machine', { webhook: { url: 'http://hooks.example.com', keyFile: 'k' } },
      [{ field: 'lifecycle.webhook.url', message: insecure }]],
  ]
  for (const [name, lifecycle, expected] of cases) t.same(problems(lifecycle), expected, name)
  t.match(problems({ expiryWarningDays: 0 }), [{ field: 'lifecycle.expiryWarningDays' }])
  t.match(problems({ webhook: { url: 'https://h.example', keyFile: 'k', maxQueue: 0 } }),
    [{ field: 'lifecycle.webhook.maxQueue' }])
  t.match(problems({ webhook: { url: 'https://h.example', keyFile: 'k', secret: 'x' } }),
    [{ field: 'lifecycle.webhook.secret', message: 'is not a known setting' }])
  t.ok(load({ webhook: { url: 'http://hooks.example.com', keyFile: 'k' } }, { allowInsecureEndpoints: true }),
    'allowInsecureEndpoints allows it, as for every URL')
})

t.test('the webhook key comes from a file or a secret; errors name where, never the key', async (t) => {
  const dir = t.testdir({ 'webhook.key': `${key}\n`, 'short.key': 'not-long-enough' })
  const secretsPath = join(dir, 'secrets.json')
  writeFileSync(secretsPath, JSON.stringify({ 'lwa-broker/webhook': { key }, 'lwa-broker/other': { value: key } }))
  const secrets = new FileSecretStore(secretsPath)
  t.teardown(() => secrets.close())
  const webhook = { url: 'https://h.example', timeoutMs: 5000, maxQueue: 10, maxAttempts: 3 }
  t.equal(await loadWebhookKey({ ...webhook, keyFile: join(dir, 'webhook.key') }, secrets), key, 'trimmed')
  t.equal(await loadWebhookKey({ ...webhook, keySecret: 'lwa-broker/webhook' }, secrets), key)
  const refused = async (settings: Record<string, string>, message: RegExp): Promise<void> => {
    const err = await loadWebhookKey({ ...webhook, ...settings }, secrets).then(() => undefined, (e: Error) => e)
    t.match(err?.message, message)
    t.notOk(err?.message.includes('not-long-enough') || err?.message.includes(key), 'the key is not in the message')
  }
  await refused({ keyFile: join(dir, 'short.key') }, /^lifecycle\.webhook\.keyFile .*short\.key: must hold at least 32/)
  await refused({ keyFile: join(dir, 'missing.key') }, /^lifecycle\.webhook\.keyFile .*missing\.key: cannot be read \(ENOENT\)/)
  await refused({ keySecret: 'lwa-broker/other' }, /^secret lwa-broker\/other: has no string field "key"/)
})
