import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadEncryptionKey } from '../../src/cache/index.js'
import { FileSecretStore } from '../../src/secrets/index.js'

const cache = { backend: 'redis' as const, url: 'redis://127.0.0.1:6379', keyPrefix: 'lwa-broker:' }
const key = randomBytes(32)

t.test('from a file: 32 raw bytes, or their base64 (a trailing newline is fine)', async (t) => {
  const dir = t.testdir({ 'raw.key': key, 'b64.key': `${key.toString('base64')}\n`, 'b64url.key': key.toString('base64url') })
  const secrets = new FileSecretStore(join(dir, 'none.json'))
  for (const file of ['raw.key', 'b64.key', 'b64url.key']) {
    t.same(await loadEncryptionKey({ ...cache, encryptionKeyFile: join(dir, file) }, secrets), key, file)
  }
})

t.test('a file of the wrong size names the field and the file, never the bytes', async (t) => {
  const dir = t.testdir({ 'short.key': randomBytes(16).toString('base64'), 'text.key': 'not base64 at all!' })
  const secrets = new FileSecretStore(join(dir, 'none.json'))
  for (const file of ['short.key', 'text.key']) {
    const path = join(dir, file)
    await t.rejects(loadEncryptionKey({ ...cache, encryptionKeyFile: path }, secrets), { message: `cache.encryptionKeyFile ${path}: must hold 32 bytes, raw or base64 (e.g. openssl rand -base64 32)` })
  }
})

t.test('from a secret: its field "key" in base64', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'secrets.json')
  writeFileSync(path, JSON.stringify({ 'lwa/cache-key': { key: key.toString('base64') }, 'lwa/no-key': { other: 'x' }, 'lwa/short-key': { key: randomBytes(8).toString('base64') } }))
  const secrets = new FileSecretStore(path)
  t.same(await loadEncryptionKey({ ...cache, encryptionKeySecret: 'lwa/cache-key' }, secrets), key)
  await t.rejects(loadEncryptionKey({ ...cache, encryptionKeySecret: 'lwa/no-key' }, secrets), { name: 'SecretError', code: 'missing_field', field: 'key' })
  await t.rejects(loadEncryptionKey({ ...cache, encryptionKeySecret: 'lwa/short-key' }, secrets), { name: 'SecretError', code: 'malformed', message: 'secret lwa/short-key: field "key" must be 32 bytes in base64' })
  await t.rejects(loadEncryptionKey({ ...cache, encryptionKeySecret: 'lwa/absent' }, secrets), { name: 'SecretError', code: 'not_found' })
})

t.test('neither source is a programming error (config checks demand one)', async (t) => {
  await t.rejects(loadEncryptionKey(cache, new FileSecretStore('/nonexistent')), TypeError)
})
