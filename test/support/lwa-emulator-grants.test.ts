// What the LWA emulator tells API emulators about a token (grantOf) and the rotation overlap (addClientSecret).
import t from 'tap'
import type { Test } from 'tap'
import { FakeClock } from './fake-clock.js'
import { LwaEmulator } from './lwa-emulator.js'
import { consentGrant, grantless, refreshGrant } from './api-test-client.js'

const clientId = 'amzn1.application-oa2-client.grants'
const clientSecret = 'secret-one'
const refreshToken = 'Atzr|grants'

async function start(t: Test, clock?: FakeClock): Promise<LwaEmulator> {
  const lwa = await LwaEmulator.start(clock ? { clock } : {})
  t.teardown(() => lwa.close())
  lwa.addClient({ clientId, clientSecret })
  lwa.addRefreshToken({ refreshToken, clientId })
  return lwa
}

t.test('grantOf names the refresh token and the lifetime by the injected clock; issued() is unchanged', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1))
  const lwa = await start(t, clock)
  lwa.expiresInSeconds = 900
  const token = await refreshGrant(lwa, { clientId, clientSecret, refreshToken })
  t.same(lwa.grantOf(token), {
    clientId, grantType: 'refresh_token', refreshToken, issuedAtMs: Date.UTC(2026, 0, 1), expiresAtMs: Date.UTC(2026, 0, 1) + 900_000,
  })
  t.same(lwa.issued(token), { clientId, grantType: 'refresh_token' }, 'issued() keeps its shape')
  t.equal(lwa.grantOf('Atza|forged'), undefined)

  const grantlessToken = await grantless(lwa, { clientId, clientSecret, scope: 'sellingpartnerapi::notifications' })
  const info = lwa.grantOf(grantlessToken)
  t.same(info, { clientId, grantType: 'client_credentials', scope: 'sellingpartnerapi::notifications', issuedAtMs: clock.now(), expiresAtMs: clock.now() + 900_000 })
})

t.test('a rotated refresh token: the access token names the refresh token that was presented', async (t) => {
  const lwa = await start(t)
  lwa.addRefreshToken({ refreshToken: 'Atzr|before', clientId, rotateTo: 'Atzr|after' })
  const token = await refreshGrant(lwa, { clientId, clientSecret, refreshToken: 'Atzr|before' })
  t.equal(lwa.grantOf(token)?.refreshToken, 'Atzr|before')
  const wall = lwa.grantOf(token)?.issuedAtMs ?? 0
  t.ok(Math.abs(wall - Date.now()) < 5000, 'the wall clock by default')
})

t.test('a token from the SP-API consent page knows the selling partner; a plain code does not', async (t) => {
  const lwa = await start(t)
  lwa.addApplication({ applicationId: 'amzn1.sp.solution.grants', clientId })
  lwa.nextSellingPartnerId = 'A9CONSENT'
  const consented = await consentGrant(lwa, { applicationId: 'amzn1.sp.solution.grants', clientId, clientSecret })
  t.equal(consented.sellingPartnerId, 'A9CONSENT')
  t.match(lwa.grantOf(consented.accessToken), { grantType: 'authorization_code', refreshToken: consented.refreshToken, sellingPartnerId: 'A9CONSENT' })
  const again = await refreshGrant(lwa, { clientId, clientSecret, refreshToken: consented.refreshToken })
  t.match(lwa.grantOf(again), { grantType: 'refresh_token', sellingPartnerId: 'A9CONSENT' })
  const plain = await refreshGrant(lwa, { clientId, clientSecret, refreshToken })
  t.notOk('sellingPartnerId' in (lwa.grantOf(plain) ?? {}))
})

t.test('addClientSecret accepts a second secret beside the first; setClientSecrets retires', async (t) => {
  const lwa = await start(t)
  lwa.addClientSecret(clientId, 'secret-two')
  t.ok(await refreshGrant(lwa, { clientId, clientSecret, refreshToken }))
  t.ok(await refreshGrant(lwa, { clientId, clientSecret: 'secret-two', refreshToken }))
  lwa.setClientSecrets(clientId, ['secret-two'])
  await t.rejects(refreshGrant(lwa, { clientId, clientSecret, refreshToken }), /invalid_client/)
  t.throws(() => lwa.addClientSecret('amzn1.application-oa2-client.nobody', 'x'), TypeError)
})
