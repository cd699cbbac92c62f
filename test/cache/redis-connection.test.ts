import { join } from 'node:path'
import t from 'tap'
import { redisConnection } from '../../src/cache/index.js'
import type { BrokerConfig } from '../../src/config/index.js'

const cache = (fields: Partial<BrokerConfig['cache']>): BrokerConfig['cache'] =>
  ({ backend: 'redis', keyPrefix: 'lwa-broker:', ...fields }) as BrokerConfig['cache']
const sentinels = [{ host: 'sentinel-0', port: 26379 }]

t.test('passwords come from their files, without the line end; the topology as configured', async (t) => {
  const dir = t.testdir({ redis: 's3cret\n', sentinel: 'other-s3cret\r\n' })
  t.same(await redisConnection(cache({ url: 'rediss://r:6379', passwordFile: join(dir, 'redis') })), { url: 'rediss://r:6379', password: 's3cret' })
  t.same(await redisConnection(cache({ sentinel: { name: 'lwa', sentinels, passwordFile: join(dir, 'sentinel') }, username: 'broker', passwordFile: join(dir, 'redis') })),
    { sentinel: { name: 'lwa', sentinels, password: 'other-s3cret' }, username: 'broker', password: 's3cret' })
  t.same(await redisConnection(cache({ cluster: { nodes: sentinels, tls: true } })), { cluster: { nodes: sentinels, tls: true } })
})

t.test('an empty or unreadable password file stops start-up, naming the field and the file, not its text', async (t) => {
  const dir = t.testdir({ empty: '\n' })
  await t.rejects(redisConnection(cache({ url: 'redis://r', passwordFile: join(dir, 'empty') })), { message: `cache.passwordFile ${join(dir, 'empty')}: is empty` })
  await t.rejects(redisConnection(cache({ sentinel: { name: 'lwa', sentinels, passwordFile: join(dir, 'absent') } })),
    { message: `cache.sentinel.passwordFile ${join(dir, 'absent')}: cannot be read (ENOENT)` })
})
