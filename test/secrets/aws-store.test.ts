import t from 'tap'
import type { Test } from 'tap'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { AwsSecretStore } from '../../src/secrets/aws-store.js'
import { SecretError } from '../../src/secrets/secret-store.js'
import { SecretsManagerEmulator, type SmFault } from '../support/secrets-manager-emulator.js'

const APP = 'prod/lwa/apps/sp-main'
const GRANT = 'prod/lwa/sellers/acme'
const CLIENT_SECRET = 'amzn1.oa2-cs.v1.app-secret-do-not-log'
const REFRESH_TOKEN = 'Atzr|IwEBIA-grant-do-not-log'
const APP_FIELDS = { client_id: 'amzn1.application-oa2-client.abc', client_secret: CLIENT_SECRET }
const VERSION_ID = 'a1b2c3d4-0000-4000-8000-000000000001'

/** A real SDK client (one attempt, so each fault is one call) against a fresh emulator. */
async function setup(t: Test): Promise<{ sm: SecretsManagerEmulator; store: AwsSecretStore }> {
  const sm = await SecretsManagerEmulator.start()
  const store = new AwsSecretStore({
    endpoint: sm.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestTimeoutMs: 500,
  })
  t.teardown(async () => {
    await store.close()
    await sm.close()
  })
  return { sm, store }
}

/** The SecretError a promise rejects with; anything else fails the test. */
async function secretError(t: Test, promise: Promise<unknown>): Promise<SecretError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.type(err, SecretError)
  return err as SecretError
}

t.test('reads app and grant secrets by name, with version ids, never the ARN', async (t) => {
  const { sm, store } = await setup(t)
  const appVersion = sm.putSecret(APP, APP_FIELDS)
  const grantVersion = sm.putSecret(GRANT, { refresh_token: REFRESH_TOKEN })

  t.same(await store.get(APP), { id: APP, versionId: appVersion, fields: APP_FIELDS })
  t.same(await store.get(GRANT), { id: GRANT, versionId: grantVersion, fields: { refresh_token: REFRESH_TOKEN } })
  t.equal(sm.calls[0]?.versionStage, 'AWSCURRENT')
})

t.test('reads AWSPENDING and AWSPREVIOUS by stage', async (t) => {
  const { sm, store } = await setup(t)
  const v1 = sm.putSecret(APP, { ...APP_FIELDS, client_secret: 'one' })
  const v2 = sm.putSecret(APP, { ...APP_FIELDS, client_secret: 'two' })
  const pending = sm.putSecret(APP, { ...APP_FIELDS, client_secret: 'three' }, { stages: ['AWSPENDING'] })

  t.match(await store.get(APP, 'AWSCURRENT'), { versionId: v2, fields: { client_secret: 'two' } })
  t.match(await store.get(APP, 'AWSPREVIOUS'), { versionId: v1, fields: { client_secret: 'one' } })
  t.match(await store.get(APP, 'AWSPENDING'), { versionId: pending, fields: { client_secret: 'three' } })
  t.same(sm.calls.map((c) => c.versionStage), ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING'])
})

t.test('a stage the secret lacks is not_found naming the stage', async (t) => {
  const { sm, store } = await setup(t)
  sm.putSecret(APP, APP_FIELDS)
  const err = await secretError(t, store.get(APP, 'AWSPENDING'))
  t.equal(err.code, 'not_found')
  t.equal(err.message, `secret ${APP}: has no AWSPENDING version`)
})

t.test('currentVersionId follows a put, through DescribeSecret alone', async (t) => {
  const { sm, store } = await setup(t)
  const v1 = sm.putSecret(GRANT, { refresh_token: 'Atzr|old' })
  t.equal(await store.currentVersionId(GRANT), v1)

  const written = await store.put(GRANT, { refresh_token: REFRESH_TOKEN }, VERSION_ID)
  t.same(written, { id: GRANT, versionId: VERSION_ID, fields: { refresh_token: REFRESH_TOKEN } })
  t.equal(await store.currentVersionId(GRANT), VERSION_ID)
  t.equal(sm.current(GRANT, 'AWSPREVIOUS')?.versionId, v1, 'the old token stays readable as AWSPREVIOUS')
  t.equal(sm.callCount({ operation: 'GetSecretValue' }), 0, 'no secret value was decrypted')
  t.equal(sm.callCount({ operation: 'DescribeSecret' }), 2)
})

t.test('put with the same versionId twice is idempotent: one new version', async (t) => {
  const { sm, store } = await setup(t)
  sm.putSecret(GRANT, { refresh_token: 'Atzr|old' })
  const first = await store.put(GRANT, { refresh_token: REFRESH_TOKEN }, VERSION_ID)
  const again = await store.put(GRANT, { refresh_token: REFRESH_TOKEN }, VERSION_ID)
  t.same(again, first)
  t.equal(sm.versions(GRANT).length, 2)
  t.same(await store.get(GRANT), first)
})

t.test('put rejects a versionId Secrets Manager would refuse as ClientRequestToken', async (t) => {
  const { sm, store } = await setup(t)
  await t.rejects(store.put(GRANT, { refresh_token: REFRESH_TOKEN }, 'v2'), TypeError)
  t.equal(sm.callCount(), 0)
})

t.test('a missing secret is not_found naming the secret, from every operation', async (t) => {
  const { store } = await setup(t)
  for (const attempt of [store.get('prod/lwa/missing'), store.currentVersionId('prod/lwa/missing'), store.put('prod/lwa/missing', {}, VERSION_ID)]) {
    const err = await secretError(t, attempt)
    t.equal(err.code, 'not_found')
    t.equal(err.message, 'secret prod/lwa/missing: not found')
  }
})

t.test('a secret created without a value has no AWSCURRENT version', async (t) => {
  const { sm, store } = await setup(t)
  const ops = new SecretsManagerClient({ endpoint: sm.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })
  t.teardown(() => ops.destroy())
  await ops.send(new CreateSecretCommand({ Name: APP }))
  const err = await secretError(t, store.currentVersionId(APP))
  t.equal(err.code, 'not_found')
  t.equal(err.message, `secret ${APP}: has no AWSCURRENT version`)
})

t.test('a SecretString that is not a JSON object is malformed, without echoing the value', async (t) => {
  const { sm, store } = await setup(t)
  for (const [text, detail] of [[`not json ${CLIENT_SECRET}`, 'is not JSON'], [`["${CLIENT_SECRET}"]`, 'is not a JSON object']] as const) {
    sm.putSecret(APP, text)
    const err = await secretError(t, store.get(APP))
    t.equal(err.code, 'malformed')
    t.equal(err.message, `secret ${APP}: ${detail}`)
    t.notMatch(err.message, CLIENT_SECRET)
  }
})

t.test('service faults map by AWS error name to unavailable, naming secret and error but no value', async (t) => {
  const { sm, store } = await setup(t)
  const versionId = sm.putSecret(APP, APP_FIELDS)
  const cases: Array<[SmFault, RegExp]> = [
    [{ kind: 'error', type: 'AccessDeniedException', status: 403 }, /access denied \(AccessDeniedException\)/],
    [{ kind: 'error', type: 'DecryptionFailure' }, /cannot be decrypted \(DecryptionFailure\); check kms:Decrypt/],
    [{ kind: 'error', type: 'ThrottlingException' }, /unavailable \(ThrottlingException\)/],
    [{ kind: 'error', type: 'InternalServiceError' }, /unavailable \(InternalServiceError\)/],
    [{ kind: 'reset' }, /unavailable \(TimeoutError ECONNRESET\)/],
    [{ kind: 'slow', ms: 2_000 }, /unavailable \(TimeoutError ETIMEDOUT\)/],
  ]
  for (const [fault, expected] of cases) {
    sm.failNext(fault)
    const err = await secretError(t, store.get(APP))
    t.equal(err.code, 'unavailable', fault.kind === 'error' ? fault.type : fault.kind)
    t.equal(err.secretId, APP)
    t.match(err.message, expected)
    t.ok(err.message.startsWith(`secret ${APP}: `))
    t.notMatch(err.message, CLIENT_SECRET)
    t.notMatch(err.message, /arn:aws/, 'AWS messages (which carry ARNs) are left out')
  }
  t.equal((await store.get(APP)).versionId, versionId, 'the store recovers once the fault clears')
})

t.test('AccessDenied on DescribeSecret and PutSecretValue is reported the same way', async (t) => {
  const { sm, store } = await setup(t)
  sm.putSecret(GRANT, { refresh_token: 'Atzr|old' })
  sm.setFault({ kind: 'error', type: 'AccessDeniedException' })
  const describe = await secretError(t, store.currentVersionId(GRANT))
  const put = await secretError(t, store.put(GRANT, { refresh_token: REFRESH_TOKEN }, VERSION_ID))
  for (const err of [describe, put]) {
    t.equal(err.code, 'unavailable')
    t.match(err.message, `secret ${GRANT}: access denied (AccessDeniedException)`)
    t.notMatch(err.message, REFRESH_TOKEN)
  }
})
