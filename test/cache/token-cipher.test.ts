import { randomBytes } from 'node:crypto'
import t from 'tap'
import { TokenCipher, TokenSealError } from '../../src/cache/index.js'
import type { BrokerToken } from '../../src/tokens/index.js'

const token: BrokerToken = {
  accessToken: 'Atza|IwEBIExample-access-token',
  tokenType: 'bearer',
  obtainedAtMs: 1_700_000_000_000,
  expiresAtMs: 1_700_003_600_000,
  clientId: 'amzn1.application-oa2-client.ads0001',
  secretVersions: { app: 'v-app', grant: 'v-grant' },
}

t.test('a sealed token opens with the same key and credential, and shows nothing of the token', async (t) => {
  const cipher = new TokenCipher(randomBytes(32))
  const sealed = cipher.seal('ads-us', token)
  t.notMatch(sealed, /Atza\||ads0001|v-app/, 'nothing readable')
  t.same(cipher.open('ads-us', sealed), token)
  t.not(cipher.seal('ads-us', token), sealed, 'a fresh IV every time')
  const noGrant = { ...token, secretVersions: { app: 'v-app', grant: undefined } }
  t.same(cipher.open('ads-us', cipher.seal('ads-us', noGrant)), noGrant)
})

t.test('a wrong key, another credential, or a changed byte all fail the same way', async (t) => {
  const cipher = new TokenCipher(randomBytes(32))
  const sealed = cipher.seal('ads-us', token)
  t.throws(() => new TokenCipher(randomBytes(32)).open('ads-us', sealed), TokenSealError)
  t.throws(() => cipher.open('sp-acme-eu', sealed), { name: 'TokenSealError', message: 'the shared token of credential sp-acme-eu does not decrypt with this key (another key, or changed)' })
  const parts = sealed.split('.')
  const body = Buffer.from(parts[3] as string, 'base64url')
  body[0] = (body[0] as number) ^ 1
  t.throws(() => cipher.open('ads-us', [parts[0], parts[1], parts[2], body.toString('base64url')].join('.')), TokenSealError)
  for (const bad of ['', 'v2.a.b.c', 'v1.a.b', 'v1.a.b.c.d']) t.throws(() => cipher.open('ads-us', bad), { message: /is not in the expected format/ }, bad)
})

t.test('a sealed value from another version of the broker is refused', async (t) => {
  const key = randomBytes(32)
  const cipher = new TokenCipher(key)
  const other = cipher.seal('ads-us', { ...token, accessToken: 42 } as unknown as BrokerToken)
  t.throws(() => cipher.open('ads-us', other), { message: /does not hold a token of this version/ })
})

t.test('the key must be 32 bytes', async (t) => {
  t.throws(() => new TokenCipher(randomBytes(16)), new TypeError('the token encryption key must be 32 bytes, not 16'))
})
