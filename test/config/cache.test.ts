import t from 'tap'
import { ConfigError, parseConfig, type ConfigProblem } from '../../src/config/index.js'

const issuer = 'https://oidc.test.example/id/CLUSTER'
const file = '/etc/lwa-broker/broker.yaml'
const sentinel = { name: 'lwa', sentinels: [{ host: 'sentinel-0.redis', port: 26379 }] }
const cluster = { nodes: [{ host: 'clustercfg.lwa.cache.amazonaws.com', port: 6379 }] }

/** A config that starts, with `cache` as given (the key from a file, so only the topology varies). */
function load(cache: Record<string, unknown>) {
  return parseConfig({
    secrets: { backend: 'file', path: 'secrets.json' },
    issuers: [{ issuer, audiences: ['lwa-broker'], algorithms: ['RS256'], jwks: { file: 'jwks.json' } }],
    credentials: { 'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us' } },
    cache: { backend: 'redis', encryptionKeyFile: 'cache.key', ...cache },
  }, file)
}

function problems(cache: Record<string, unknown>): ConfigProblem[] {
  try {
    load(cache)
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  throw new Error('expected a ConfigError, but the config loaded')
}

t.test('each Redis topology loads: url, sentinel, cluster; password files resolve against the config file', async (t) => {
  t.equal(load({ url: 'rediss://redis.lwa-broker.svc:6379/0' }).cache.url, 'rediss://redis.lwa-broker.svc:6379/0')
  const s = load({ sentinel: { ...sentinel, tls: true, passwordFile: 'sentinel.password' }, passwordFile: 'redis.password' }).cache
  t.same(s.sentinel, { ...sentinel, tls: true, passwordFile: '/etc/lwa-broker/sentinel.password' })
  t.equal(s.passwordFile, '/etc/lwa-broker/redis.password')
  const c = load({ cluster: { ...cluster, tls: true }, username: 'lwa-broker', passwordFile: '/run/secrets/redis' }).cache
  t.same(c.cluster, { ...cluster, tls: true })
  t.equal(c.username, 'lwa-broker')
  t.equal(c.passwordFile, '/run/secrets/redis')
})

t.test('a wrong combination names the field, with the exact message', async (t) => {
  const cases: Array<[string, Record<string, unknown>, ConfigProblem[]]> = [
    ['no topology', {}, [{ field: 'cache.url', message: 'is required when cache.backend is "redis" (or cache.sentinel, or cache.cluster)' }]],
    ['url and sentinel', { url: 'redis://r:6379', sentinel }, [{ field: 'cache.sentinel', message: 'cannot be combined with cache.url: give one of url, sentinel or cluster' }]],
    ['all three', { url: 'redis://r:6379', sentinel, cluster }, [
      { field: 'cache.sentinel', message: 'cannot be combined with cache.url: give one of url, sentinel or cluster' },
      { field: 'cache.cluster', message: 'cannot be combined with cache.url: give one of url, sentinel or cluster' },
    ]],
    ['sentinel and cluster', { sentinel, cluster }, [{ field: 'cache.cluster', message: 'cannot be combined with cache.sentinel: give one of url, sentinel or cluster' }]],
    ['a password file and a password in the url', { url: 'rediss://:secret@r:6379', passwordFile: 'redis.password' }, [{ field: 'cache.passwordFile', message: 'cannot be combined with credentials in cache.url' }]],
    ['a username and a user in the url', { url: 'rediss://broker:secret@r:6379', username: 'broker' }, [{ field: 'cache.username', message: 'cannot be combined with credentials in cache.url' }]],
    ['braces in the key prefix of a cluster', { cluster, keyPrefix: '{lwa}:' }, [{ field: 'cache.keyPrefix', message: "must not contain { or } with cache.cluster: the broker's keys carry their own hash tags" }]],
  ]
  for (const [name, cache, expected] of cases) t.same(problems(cache), expected, name)
  t.equal(load({ url: 'rediss://r:6379', passwordFile: 'redis.password' }).cache.passwordFile, '/etc/lwa-broker/redis.password', 'a password file with a url without credentials is fine')
  t.equal(load({ sentinel, keyPrefix: '{lwa}:' }).cache.keyPrefix, '{lwa}:', 'braces matter only to a cluster')
})

t.test('the topology shapes are closed and checked like the rest of the file', async (t) => {
  const cases: Array<[string, Record<string, unknown>, ConfigProblem]> = [
    ['an unknown sentinel field', { sentinel: { ...sentinel, master: 'lwa' } }, { field: 'cache.sentinel.master', message: 'is not a known setting' }],
    ['a sentinel without a port', { sentinel: { name: 'lwa', sentinels: [{ host: 's' }] } }, { field: 'cache.sentinel.sentinels.0.port', message: 'is required' }],
    ['no sentinel name', { sentinel: { sentinels: sentinel.sentinels } }, { field: 'cache.sentinel.name', message: 'is required' }],
    ['an unknown cluster field', { cluster: { ...cluster, password: 'x' } }, { field: 'cache.cluster.password', message: 'is not a known setting' }],
  ]
  for (const [name, cache, problem] of cases) t.same(problems(cache), [problem], name)
  for (const [name, cache, field] of [
    ['no sentinels', { sentinel: { name: 'lwa', sentinels: [] } }, 'cache.sentinel.sentinels'],
    ['no cluster nodes', { cluster: { nodes: [] } }, 'cache.cluster.nodes'],
    ['a port out of range', { cluster: { nodes: [{ host: 'n', port: 70000 }] } }, 'cache.cluster.nodes.0.port'],
  ] as const) t.same(problems(cache).map((p) => p.field), [field], `${name}: names ${field}`)
})
