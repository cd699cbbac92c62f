import t from 'tap'
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
  DecryptionFailure,
  InvalidParameterException,
} from '@aws-sdk/client-secrets-manager'
import type { Test } from 'tap'
import { SecretsManagerEmulator } from './secrets-manager-emulator.js'

const SECRET = 'prod/lwa/ads-us'
const CREDS = JSON.stringify({ clientId: 'amzn1.application-oa2-client.abc', clientSecret: 's3cret', refreshToken: 'Atzr|x' })

/** The rejection of `promise`; t.rejects only takes classes or patterns, and we want both. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err)
}

/** A real SDK client against a fresh emulator; both are torn down with the test. */
async function setup(t: Test, maxAttempts = 1): Promise<{ sm: SecretsManagerEmulator; client: SecretsManagerClient }> {
  const sm = await SecretsManagerEmulator.start()
  const client = new SecretsManagerClient({
    endpoint: sm.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts,
  })
  t.teardown(async () => {
    client.destroy()
    await sm.close()
  })
  return { sm, client }
}

t.test('GetSecretValue by name and by ARN', async (t) => {
  const { sm, client } = await setup(t)
  const versionId = sm.putSecret(SECRET, CREDS)
  const byName = await client.send(new GetSecretValueCommand({ SecretId: SECRET }))
  t.equal(byName.SecretString, CREDS)
  t.equal(byName.VersionId, versionId)
  t.equal(byName.Name, SECRET)
  t.same(byName.VersionStages, ['AWSCURRENT'])
  t.ok(byName.CreatedDate instanceof Date, 'CreatedDate parsed into a Date')
  t.match(byName.ARN, /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/lwa\/ads-us-[A-Za-z0-9]{6}$/)

  const byArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN }))
  t.equal(byArn.SecretString, CREDS)
  const byPartialArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN?.slice(0, -7) }))
  t.equal(byPartialArn.VersionId, versionId)
  t.equal(sm.callCount({ operation: 'GetSecretValue', secretId: SECRET }), 3, 'ARN and name count as the same secret')
})

t.test('GetSecretValue by VersionStage and VersionId', async (t) => {
  const { sm, client } = await setup(t)
  const v1 = sm.putSecret(SECRET, { v: 1 })
  const v2 = sm.putSecret(SECRET, { v: 2 })
  const pending = sm.putSecret(SECRET, { v: 3 }, { stages: ['AWSPENDING'] })
  const get = (input: { VersionStage?: string; VersionId?: string }) =>
    client.send(new GetSecretValueCommand({ SecretId: SECRET, ...input }))

  t.equal((await get({})).VersionId, v2)
  t.equal((await get({ VersionStage: 'AWSPREVIOUS' })).VersionId, v1)
  const p = await get({ VersionStage: 'AWSPENDING' })
  t.equal(p.VersionId, pending)
  t.equal(p.SecretString, '{"v":3}')
  t.equal((await get({ VersionId: v1 })).SecretString, '{"v":1}')
  t.equal(sm.calls.at(-1)?.versionId, v1)
  t.equal(sm.calls.at(-2)?.versionStage, 'AWSPENDING')
})

t.test('missing secret, stage or version is the SDK\'s ResourceNotFoundException', async (t) => {
  const { sm, client } = await setup(t)
  const missing = await failure(client.send(new GetSecretValueCommand({ SecretId: 'nope' })))
  t.type(missing, ResourceNotFoundException)
  t.match(missing, { message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } })
  sm.putSecret(SECRET, 'x')
  const noStage = await failure(client.send(new GetSecretValueCommand({ SecretId: SECRET, VersionStage: 'AWSPENDING' })))
  t.type(noStage, ResourceNotFoundException)
  t.match(noStage, { message: /staging label: AWSPENDING/ })
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: SECRET, VersionId: 'no-such-version' })), ResourceNotFoundException)
  t.equal(sm.callCount({ ok: false }), 3)
  t.same(sm.calls.map((c) => c.errorType), ['ResourceNotFoundException', 'ResourceNotFoundException', 'ResourceNotFoundException'])
  sm.deleteSecret(SECRET)
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: SECRET })), ResourceNotFoundException)
})

t.test('PutSecretValue moves AWSCURRENT and leaves AWSPREVIOUS behind; Describe shows the stages', async (t) => {
  const { sm, client } = await setup(t)
  const v1 = sm.putSecret(SECRET, 'one')
  const put2 = await client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'two' }))
  t.same(put2.VersionStages, ['AWSCURRENT'])
  t.ok(put2.VersionId, 'the SDK-generated ClientRequestToken becomes the version id')
  const v2 = put2.VersionId ?? ''
  const put3 = await client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'three', ClientRequestToken: 'v3-token-00000000000000000000000000' }))
  t.equal(put3.VersionId, 'v3-token-00000000000000000000000000')

  const described = await client.send(new DescribeSecretCommand({ SecretId: SECRET }))
  t.same(described.VersionIdsToStages, { [v2]: ['AWSPREVIOUS'], [put3.VersionId ?? '']: ['AWSCURRENT'] }, 'v1 lost its labels')
  t.ok(described.LastChangedDate instanceof Date)
  t.same(sm.versions(SECRET).find((v) => v.versionId === v1), { versionId: v1, stages: [], value: 'one' }, 'deprecated version is kept')
  t.same(sm.current(SECRET), { versionId: put3.VersionId, value: 'three' })
  t.equal(sm.current(SECRET, 'AWSPREVIOUS')?.value, 'two')
})

t.test('rotation: PutSecretValue AWSPENDING, then UpdateSecretVersionStage moves AWSCURRENT', async (t) => {
  const { sm, client } = await setup(t)
  const old = sm.putSecret(SECRET, 'old')
  const pending = await client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'new', VersionStages: ['AWSPENDING'] }))
  t.same(pending.VersionStages, ['AWSPENDING'])
  t.equal(sm.current(SECRET)?.value, 'old', 'AWSCURRENT did not move yet')

  await t.rejects(
    client.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: pending.VersionId })),
    InvalidParameterException, 'RemoveFromVersionId must name the current holder')
  await t.rejects(
    client.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: pending.VersionId, RemoveFromVersionId: 'wrong' })),
    InvalidParameterException)

  const moved = await client.send(new UpdateSecretVersionStageCommand({
    SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: pending.VersionId, RemoveFromVersionId: old,
  }))
  t.equal(moved.Name, SECRET)
  t.same(sm.current(SECRET), { versionId: pending.VersionId, value: 'new' })
  t.same(sm.versions(SECRET).find((v) => v.versionId === old)?.stages, ['AWSPREVIOUS'])
  await client.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending.VersionId }))
  t.same(sm.versions(SECRET).find((v) => v.versionId === pending.VersionId)?.stages, ['AWSCURRENT'])

  sm.moveStage(SECRET, 'AWSCURRENT', old) // roll back with the direct helper
  t.same(sm.current(SECRET), { versionId: old, value: 'old' })
  t.equal(sm.current(SECRET, 'AWSPREVIOUS')?.versionId, pending.VersionId)
})

t.test('ClientRequestToken is idempotent for the same value, ResourceExistsException otherwise', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, 'one')
  const token = 'a1b2c3d4-0000-4000-8000-000000000001'
  const first = await client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'two', ClientRequestToken: token }))
  const again = await client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'two', ClientRequestToken: token }))
  t.equal(again.VersionId, first.VersionId)
  t.equal(sm.versions(SECRET).length, 2)
  await t.rejects(
    client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'different', ClientRequestToken: token })),
    ResourceExistsException)
  await t.rejects(client.send(new PutSecretValueCommand({ SecretId: 'missing', SecretString: 'x' })), ResourceNotFoundException)
})

t.test('CreateSecret and ListSecrets with name filter and pagination', async (t) => {
  const { sm, client } = await setup(t)
  const created = await client.send(new CreateSecretCommand({ Name: 'prod/lwa/a', SecretString: 'a' }))
  t.match(created, { Name: 'prod/lwa/a', ARN: /secret:prod\/lwa\/a-/, VersionId: /./ })
  await t.rejects(client.send(new CreateSecretCommand({ Name: 'prod/lwa/a', SecretString: 'again' })), ResourceExistsException)
  await client.send(new CreateSecretCommand({ Name: 'prod/lwa/b', SecretString: 'b' }))
  sm.putSecret('staging/lwa/c', 'c')
  t.equal(sm.callCount({ operation: 'CreateSecret', secretId: 'prod/lwa/a' }), 2)

  const all = await client.send(new ListSecretsCommand({}))
  t.same(all.SecretList?.map((s) => s.Name), ['prod/lwa/a', 'prod/lwa/b', 'staging/lwa/c'])
  t.equal(all.NextToken, undefined)
  t.same(Object.values(all.SecretList?.[0]?.SecretVersionsToStages ?? {}), [['AWSCURRENT']])

  const page1 = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['prod/'] }], MaxResults: 1 }))
  t.same(page1.SecretList?.map((s) => s.Name), ['prod/lwa/a'])
  t.ok(page1.NextToken)
  const page2 = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['prod/'] }], MaxResults: 1, NextToken: page1.NextToken }))
  t.same(page2.SecretList?.map((s) => s.Name), ['prod/lwa/b'])
  t.equal(page2.NextToken, undefined)
})

t.test('error faults become the SDK\'s own exceptions', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, 'x')
  const get = () => client.send(new GetSecretValueCommand({ SecretId: SECRET }))

  sm.failNext({ kind: 'error', type: 'ResourceNotFoundException' })
  await t.rejects(get(), ResourceNotFoundException)
  sm.failNext({ kind: 'error', type: 'InternalServiceError' })
  const internal = await failure(get())
  t.type(internal, InternalServiceError)
  t.match(internal, { $metadata: { httpStatusCode: 500 } })
  sm.failNext({ kind: 'error', type: 'DecryptionFailure' })
  await t.rejects(get(), DecryptionFailure)
  sm.failNext({ kind: 'error', type: 'ThrottlingException' })
  const throttled = await failure(get())
  t.type(throttled, SecretsManagerServiceException, 'unmodelled errors are the service base class')
  t.match(throttled, { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })
  sm.failNext({ kind: 'error', type: 'AccessDeniedException', status: 403 })
  const denied = await failure(get())
  t.type(denied, SecretsManagerServiceException)
  t.match(denied, { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })

  t.equal((await get()).SecretString, 'x', 'queue drained')
  t.same(sm.calls.map((c) => c.status), [400, 500, 400, 400, 403, 200])
  t.equal(sm.callCount({ ok: false }), 5)
  t.equal(sm.callCount({ ok: true }), 1)
})

t.test('failNext honours times and match', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret('a', 'A')
  sm.putSecret('b', 'B')
  sm.failNext({ kind: 'error', type: 'ThrottlingException' }, 2, { secretId: 'a', operation: 'GetSecretValue' })
  t.equal((await client.send(new GetSecretValueCommand({ SecretId: 'b' }))).SecretString, 'B')
  t.equal((await client.send(new DescribeSecretCommand({ SecretId: 'a' }))).Name, 'a')
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: 'a' })), { name: 'ThrottlingException' })
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: 'a' })), { name: 'ThrottlingException' })
  t.equal((await client.send(new GetSecretValueCommand({ SecretId: 'a' }))).SecretString, 'A')
  t.equal(sm.callCount({ secretId: 'a' }), 4)
  t.equal(sm.callCount({ secretId: 'a', operation: 'GetSecretValue', ok: false }), 2)
})

t.test('setFault persists until cleared; reset clears calls and faults but not secrets', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, 'x')
  const get = () => client.send(new GetSecretValueCommand({ SecretId: SECRET }))
  sm.setFault({ kind: 'error', type: 'AccessDeniedException' }, { operation: 'GetSecretValue' })
  await t.rejects(get(), { name: 'AccessDeniedException' })
  await t.rejects(get(), { name: 'AccessDeniedException' })
  sm.setFault(null, { operation: 'GetSecretValue' })
  t.equal((await get()).SecretString, 'x')

  sm.setFault({ kind: 'error', type: 'InternalServiceError' })
  await t.rejects(get(), InternalServiceError)
  sm.reset()
  t.same(sm.calls, [])
  t.equal((await get()).SecretString, 'x', 'fault gone, secret kept')
  t.equal(sm.callCount(), 1)
})

t.test('reset fault drops the connection; the SDK rejects', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, 'x')
  sm.failNext({ kind: 'reset' })
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: SECRET })))
  t.equal(sm.calls[0]?.status, 0)
  t.equal((await client.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString, 'x')
})

t.test('with SDK retries on, a single reset is retried transparently', async (t) => {
  const { sm, client } = await setup(t, 3)
  sm.putSecret(SECRET, 'x')
  sm.failNext({ kind: 'reset' })
  t.equal((await client.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString, 'x')
  t.equal(sm.callCount({ operation: 'GetSecretValue' }), 2)
})

t.test('slow fault delays the answer', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, 'x')
  sm.failNext({ kind: 'slow', ms: 150 })
  const started = Date.now()
  t.equal((await client.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString, 'x')
  t.ok(Date.now() - started >= 140, 'answer came after the delay')
  t.equal(sm.callCount({ ok: true }), 1)
})

t.test('protocol checks on raw requests', async (t) => {
  const { sm } = await setup(t)
  const post = (headers: Record<string, string>, body = '{}') => fetch(`${sm.url}/`, { method: 'POST', headers, body })
  const json = 'application/x-amz-json-1.1'

  const unsigned = await post({ 'content-type': json, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{"SecretId":"x"}')
  t.equal(unsigned.status, 400)
  t.equal(unsigned.headers.get('content-type'), json)
  t.ok(unsigned.headers.get('x-amzn-requestid'))
  t.match(await unsigned.json(), { __type: 'MissingAuthenticationTokenException' })
  t.same(sm.calls[0], { operation: 'GetSecretValue', secretId: 'x', status: 400, errorType: 'MissingAuthenticationTokenException', at: sm.calls[0]?.at })

  const auth = 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00'
  const unknown = await post({ 'content-type': json, 'x-amz-target': 'secretsmanager.RotateSecret', authorization: auth })
  t.equal(unknown.status, 400)
  t.match(await unknown.json(), { __type: 'UnknownOperationException' })
  const garbage = await post({ 'content-type': json, 'x-amz-target': 'secretsmanager.ListSecrets', authorization: auth }, 'not json')
  t.match(await garbage.json(), { __type: 'SerializationException' })
  const get = await fetch(sm.url)
  t.equal(get.status, 404)
  t.equal(sm.callCount({ ok: false }), 4)
})

t.test('close does not hang on keep-alive sockets', async (t) => {
  const sm = await SecretsManagerEmulator.start({ region: 'eu-west-1', accountId: '111122223333' })
  const client = new SecretsManagerClient({ endpoint: sm.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })
  sm.putSecret(SECRET, 'x')
  const out = await client.send(new GetSecretValueCommand({ SecretId: SECRET }))
  t.match(out.ARN, /^arn:aws:secretsmanager:eu-west-1:111122223333:secret:/)
  await sm.close() // client deliberately not destroyed: its pooled socket is still open
  client.destroy()
})
