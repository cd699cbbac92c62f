import t from 'tap'
import { build, fixtures, type Harness } from '../helper.js'

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const seller = 'lwa/sellers/acme'
const statusOf = (h: Harness, name: string) => h.services.status.list().find((s) => s.credential === name)

/** The seller secret's history: `older` ends as AWSPREVIOUS, `current` as AWSCURRENT. */
function history(h: Harness, older: object, current: object): void {
  h.sm?.putSecret(seller, older)
  h.sm?.putSecret(seller, current)
}

t.test('AWSPREVIOUS can switch a credential to another Amazon account: a grant of another account is never used', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  // Re-onboarded from account A to account B; then B removed the app at Amazon.
  const tokenA = 'Atzr|IwEBIAccount-A-grant'
  const tokenB = 'Atzr|IwEBIAccount-B-grant'
  h.lwa.addRefreshToken({ refreshToken: tokenA, clientId: fixtures.spClient.clientId })
  h.lwa.addRefreshToken({ refreshToken: tokenB, clientId: fixtures.spClient.clientId })
  h.lwa.revokeRefreshToken(tokenB)
  history(h, { refresh_token: tokenA, selling_partner_id: 'A1ACCOUNTA' }, { refresh_token: tokenB, selling_partner_id: 'A2ACCOUNTB' })
  const labelled = h.sm?.versions(seller).filter((v) => v.stages.length > 0).map((v) => [JSON.parse(v.value).selling_partner_id, v.stages])
  t.same(labelled, [['A1ACCOUNTA', ['AWSPREVIOUS']], ['A2ACCOUNTB', ['AWSCURRENT']]], 'set-up: A is AWSPREVIOUS, B is AWSCURRENT')

  const res = await h.getToken('sp-acme-eu', await h.jwt(platform))
  t.equal(res.statusCode, 502, 'no token at all rather than account A\'s')
  t.equal(res.json().error, 'credential_rejected')
  t.match(res.json().message, /invalid_grant/)
  t.equal(h.lwa.callCount({ ok: true }), 0, 'LWA was never asked with account A\'s refresh token')
  t.equal(statusOf(h, 'sp-acme-eu')?.health, 'rejected', 'and status does not say healthy')
  const refusal = h.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('not using another version of the grant secret'))
  t.match(refusal[0], { stage: 'AWSPREVIOUS', account: 'A1ACCOUNTA', expectedAccount: 'A2ACCOUNTB' }, 'the log says which account was refused')
})

t.test('AWSPREVIOUS can switch a credential to another Amazon account: a version that records no account is not used either', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const legacy = 'Atzr|IwEBILegacy-grant'
  h.lwa.addRefreshToken({ refreshToken: legacy, clientId: fixtures.spClient.clientId })
  history(h, { refresh_token: legacy }, { refresh_token: fixtures.spRefreshToken, selling_partner_id: 'A2ACCOUNTB' })
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  t.equal((await h.getToken('sp-acme-eu', await h.jwt(platform))).statusCode, 502)
  t.equal(h.lwa.callCount({ ok: true }), 0, 'nobody can tell whose account it was, so it is not used')
})

t.test('AWSPREVIOUS can switch a credential to another Amazon account: the same account on AWSPENDING serves, degraded, with the stage named', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const renewed = 'Atzr|IwEBIAccount-B-renewed'
  h.lwa.addRefreshToken({ refreshToken: renewed, clientId: fixtures.spClient.clientId })
  h.sm?.putSecret(seller, { refresh_token: fixtures.spRefreshToken, selling_partner_id: 'A2ACCOUNTB' })
  h.sm?.putSecret(seller, { refresh_token: renewed, selling_partner_id: 'A2ACCOUNTB' }, { stages: ['AWSPENDING'] })
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)

  const res = await h.getToken('sp-acme-eu', await h.jwt(platform))
  t.equal(res.statusCode, 200, 'the same account\'s pending grant works')
  const status = statusOf(h, 'sp-acme-eu')
  t.equal(status?.health, 'degraded', 'served from a non-current stage: degraded, not healthy')
  t.same(status?.stage, { secret: 'grant', stage: 'AWSPENDING' })
  const scrape = (await h.ops.inject('/metrics')).body
  t.match(scrape, /lwa_broker_credential_secret_stage\{credential="sp-acme-eu",secret="grant",stage="AWSPENDING"\} 1/)
  t.match(scrape, /lwa_broker_credential_health\{credential="sp-acme-eu",state="degraded"\} 1/)
  t.notMatch(scrape, /lwa_broker_credential_secret_stage\{credential="ads-us"/, 'credentials on AWSCURRENT have no stage series')
})

t.test('AWSPREVIOUS can switch a credential to another Amazon account: a client-secret rotation of the one-secret layout still falls back', async (t) => {
  // ads-us keeps client and grant in one secret and records no account: a new client secret on
  // AWSPENDING with the very same refresh token is the same grant, so it may be used.
  const h = await build(t, { secretsBackend: 'aws' })
  const fields = JSON.parse(h.sm?.current('lwa/ads-us')?.value ?? '{}') as Record<string, string>
  const newSecret = 'amzn1.oa2-cs.v1.ads-secret-0002'
  h.logs.secrets.add(newSecret)
  h.sm?.putSecret('lwa/ads-us', { ...fields, client_secret: newSecret }, { stages: ['AWSPENDING'] })
  h.lwa.setClientSecrets(fixtures.adsClient.clientId, [newSecret])
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
  t.same(statusOf(h, 'ads-us')?.stage, { secret: 'app', stage: 'AWSPENDING' })
})

t.test('AWSPREVIOUS can switch a credential to another Amazon account: a rejected client secret whose AWSPENDING works reports the revoked grant, invalid_grant', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const newSecret = 'amzn1.oa2-cs.v1.sp-secret-0002'
  h.logs.secrets.add(newSecret)
  h.sm?.putSecret('lwa/apps/sp', { client_id: fixtures.spClient.clientId, client_secret: newSecret }, { stages: ['AWSPENDING'] })
  h.lwa.setClientSecrets(fixtures.spClient.clientId, [newSecret])
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)

  const res = await h.getToken('sp-acme-eu', await h.jwt(platform))
  t.equal(res.statusCode, 502)
  t.match(res.json().message, /invalid_grant/, 'the grant is what is wrong, not the client secret')
  t.notMatch(res.json().message, /invalid_client/)
  const status = statusOf(h, 'sp-acme-eu')
  t.equal(status?.lastError?.lwaError, 'invalid_grant')
  t.same(status?.stage, { secret: 'app', stage: 'AWSPENDING' }, 'and the working client secret is remembered')
})
