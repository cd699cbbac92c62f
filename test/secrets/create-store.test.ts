import t from 'tap'
import { createLogger } from '../../src/observability/logger.js'
import { CachingSecretStore, createSecretStore, FileSecretStore } from '../../src/secrets/index.js'
import { FakeClock } from '../support/fake-clock.js'
import { LogCapture } from '../support/log-capture.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'

const deps = () => ({ clock: new FakeClock(), logger: createLogger('info', new LogCapture()) })

t.test('backend "file" is the file store', async (t) => {
  t.type(createSecretStore({ backend: 'file', path: '/tmp/x.json', refreshSeconds: 300 }, deps()), FileSecretStore)
})

t.test('backend "aws" is the SDK client behind the cache, using the default credential chain', async (t) => {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  sm.putSecret('prod/lwa/ads-us', { client_id: 'id', client_secret: 'secret-value' })
  // The default chain reads the environment, as it would read IRSA or Pod Identity in a cluster.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY }
  process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV'
  process.env.AWS_SECRET_ACCESS_KEY = 'from-env'
  t.teardown(() => {
    process.env.AWS_ACCESS_KEY_ID = saved.id
    process.env.AWS_SECRET_ACCESS_KEY = saved.key
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
    if (saved.key === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
  })
  const store = createSecretStore({ backend: 'aws', region: 'us-east-1', endpoint: sm.url, refreshSeconds: 300 }, deps())
  t.teardown(() => store.close())
  t.type(store, CachingSecretStore)
  t.match((await store.get('prod/lwa/ads-us')).fields, { client_id: 'id' })
  await store.get('prod/lwa/ads-us')
  t.equal(sm.callCount({ operation: 'GetSecretValue' }), 1, 'the second read came from the cache')
})
