import t from 'tap'
import type { SecretStore } from '../../src/secrets/index.js'
import { build, fixtures, type MintOptions } from '../helper.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }
const rotated = 'Atzr|IwEBIAds-refresh-token-rotated'

t.test('a new refresh token from LWA on a read-only backend is not relied on, and says so', async (t) => {
  const h = await build(t)
  h.lwa.addRefreshToken({ refreshToken: fixtures.adsRefreshToken, clientId: fixtures.adsClient.clientId, rotateTo: rotated })
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
  t.equal(h.logs.find((r) => /cannot store it/.test(String(r.msg))).length, 1)
  h.clock.advance(3600_000)
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200, 'the stored refresh token still works')
  t.equal(h.lwa.calls.at(-1)?.status, 200)
})

t.test('a failed write-back keeps the access token and the stored refresh token', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  h.sm!.setFault({ kind: 'error', type: 'InternalServiceError' }, { operation: 'PutSecretValue' })
  h.lwa.addRefreshToken({ refreshToken: fixtures.adsRefreshToken, clientId: fixtures.adsClient.clientId, rotateTo: rotated })
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200, 'the caller gets its token')
  t.equal(h.sm!.callCount({ operation: 'PutSecretValue' }), 1)
  t.equal(JSON.parse(h.sm!.current('lwa/ads-us')?.value ?? '{}').refresh_token, fixtures.adsRefreshToken, 'nothing half-written')
  t.equal(h.logs.find((r) => /could not store the new refresh token/.test(String(r.msg))).length, 1)
})

t.test('a secret store failure while working through a rotation is upstream_unavailable, not credential_rejected', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  h.lwa.setClientSecrets(fixtures.adsClient.clientId, ['rotated-elsewhere'])
  h.sm!.setFault({ kind: 'error', type: 'InternalServiceError' }, { operation: 'DescribeSecret' })
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'upstream_unavailable')
})

t.test('a bug in a dependency answers a bare 500 internal_error and logs the detail', async (t) => {
  const broken: SecretStore = {
    get: async () => { throw new TypeError('boom at a place callers must not see') },
    close: async () => {},
  }
  const h = await build(t, { secretStore: broken })
  const res = await h.getToken('ads-us', await h.jwt(platform))
  t.equal(res.statusCode, 500)
  t.same(Object.keys(res.json()).sort(), ['error', 'message', 'request_id'])
  t.equal(res.json().error, 'internal_error')
  t.equal(res.json().message, 'internal error')
  t.notMatch(res.body, /boom|TypeError|at /, 'no detail or stack to the caller')
  const logged = h.logs.find((r) => r.msg === 'unhandled error')
  t.equal(logged.length, 1, 'the bug is logged once')
  t.match(JSON.stringify(logged[0]), /boom at a place callers must not see/, 'with its detail, for the operator')
})
