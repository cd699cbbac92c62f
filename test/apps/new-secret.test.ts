// A new app client secret put in place: staged AWSPENDING, checked with LWA, promoted to
// AWSCURRENT (the old one AWSPREVIOUS), every replica told; repeatable after any step.
import t from 'tap'
import { applyNewSecret, recordExpiry, resumePending, type NewSecretDeps } from '../../src/apps/new-secret.js'
import { LwaClient } from '../../src/lwa/index.js'
import { build, fixtures, type Harness } from '../helper.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const app = { secretId: 'lwa/apps/sp', api: 'sp-api' as const, region: 'eu' as const }
const newSecret = 'amzn1.oa2-cs.v1.new-secret-0123456789abcdef'
const expiresAtMs = Date.parse('2027-06-01T00:00:00Z')
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }

async function setup(t: Test): Promise<{ h: Harness; deps: NewSecretDeps; reloads: number[] }> {
  const h = await build(t, { secretsBackend: 'aws' })
  h.logs.secrets.add(newSecret)
  const reloads: number[] = []
  const deps: NewSecretDeps = {
    secrets: h.services.secrets, lwa: new LwaClient({ timeoutMs: 2000, clock: h.clock }),
    endpoints: h.config.lwa.endpoints, verifyScope: 'sellingpartnerapi::notifications', logger: h.services.logger,
    reloadEverywhere: async () => reloads.push(reloads.length + 1),
  }
  return { h, deps, reloads }
}

const stagesOf = (h: Harness) => h.sm?.versions(app.secretId).map((v) => ({ secret: JSON.parse(v.value).client_secret, stages: v.stages }))

t.test('a new secret LWA accepts becomes AWSCURRENT, the old one AWSPREVIOUS; a repeat changes nothing', async (t) => {
  const { h, deps, reloads } = await setup(t)
  h.lwa.addClientSecret(fixtures.spClient.clientId, newSecret)
  t.equal(await applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }), 'applied')
  t.same(stagesOf(h), [
    { secret: fixtures.spClient.clientSecret, stages: ['AWSPREVIOUS'] },
    { secret: newSecret, stages: ['AWSCURRENT'] },
  ], 'no AWSPENDING left behind')
  t.match(JSON.parse(h.sm?.current(app.secretId)?.value ?? '{}'), {
    client_id: fixtures.spClient.clientId, client_secret: newSecret, client_secret_expires_at: '2027-06-01T00:00:00.000Z',
  }, 'the other fields kept, the expiry beside the secret')
  t.same(reloads, [1], 'every replica told once')
  t.equal(h.lwa.callCount({ grantType: 'client_credentials', ok: true }), 1, 'checked with LWA before promotion')

  const writes = h.sm?.callCount({ operation: 'PutSecretValue' })
  t.equal(await applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }), 'already', 'a redelivered notification')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), writes, 'writes nothing')
  t.equal((await h.getToken('sp-acme-eu', await h.jwt(platform))).statusCode, 200, 'sellers are served with it')
})

t.test('a secret LWA refuses stays AWSPENDING, AWSCURRENT untouched; once LWA knows it, resuming promotes it', async (t) => {
  const { h, deps, reloads } = await setup(t)
  t.equal(await applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }), 'rejected')
  t.equal(JSON.parse(h.sm?.current(app.secretId)?.value ?? '{}').client_secret, fixtures.spClient.clientSecret)
  t.equal(JSON.parse(h.sm?.current(app.secretId, 'AWSPENDING')?.value ?? '{}').client_secret, newSecret, 'staged')
  t.same(reloads, [])
  h.lwa.addClientSecret(fixtures.spClient.clientId, newSecret)
  t.equal(await resumePending(deps, app), 'applied')
  t.equal(JSON.parse(h.sm?.current(app.secretId)?.value ?? '{}').client_secret, newSecret)
  t.equal(h.sm?.current(app.secretId, 'AWSPENDING'), undefined)
  t.equal(await resumePending(deps, app), undefined, 'nothing pending any more')
})

t.test('LWA down is no verdict: the secret waits, staged', async (t) => {
  const { h, deps } = await setup(t)
  h.lwa.addClientSecret(fixtures.spClient.clientId, newSecret)
  h.lwa.failNext({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  t.equal(await applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }), 'unavailable')
  t.equal(JSON.parse(h.sm?.current(app.secretId)?.value ?? '{}').client_secret, fixtures.spClient.clientSecret)
  t.equal(await applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }), 'applied', 'the redelivery finishes it')
})

t.test('a crash between staging and promotion: the next start finishes the job', async (t) => {
  const { h, deps } = await setup(t)
  h.lwa.addClientSecret(fixtures.spClient.clientId, newSecret)
  h.sm?.failNext({ kind: 'error', type: 'InternalServiceError' }, 1, { operation: 'UpdateSecretVersionStage' })
  await t.rejects(applyNewSecret(deps, app, { clientSecret: newSecret, expiresAtMs }))
  t.equal(JSON.parse(h.sm?.current(app.secretId, 'AWSPENDING')?.value ?? '{}').client_secret, newSecret, 'left staged')
  t.equal(await resumePending(deps, app), 'applied')
  t.same(stagesOf(h)?.map((v) => v.stages), [['AWSPREVIOUS'], ['AWSCURRENT']])
})

t.test('a version staged with the secret already current only loses its label', async (t) => {
  const { h, deps } = await setup(t)
  const current = h.sm?.current(app.secretId)
  h.sm?.moveStage(app.secretId, 'AWSPENDING', current?.versionId ?? '')
  t.equal(await resumePending(deps, app), 'already')
  t.equal(h.sm?.current(app.secretId, 'AWSPENDING'), undefined)
  t.equal(h.sm?.current(app.secretId)?.versionId, current?.versionId)
})

t.test('an announced expiry is kept beside the secret, once', async (t) => {
  const { h, deps } = await setup(t)
  t.equal(await recordExpiry(deps, app, expiresAtMs), 'applied')
  t.match(JSON.parse(h.sm?.current(app.secretId)?.value ?? '{}'), {
    client_secret: fixtures.spClient.clientSecret, client_secret_expires_at: '2027-06-01T00:00:00.000Z',
  })
  t.equal(await recordExpiry(deps, app, expiresAtMs), 'already')
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 1)
})
