import t from 'tap'
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidNextTokenException,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
  DecryptionFailure,
  InvalidParameterException,
  paginateListSecrets,
} from '@aws-sdk/client-secrets-manager'
import type { Filter, ListSecretsCommandInput, SecretListEntry } from '@aws-sdk/client-secrets-manager'
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

// --- the live credential catalogue: tags, listing, scheduled deletion ---

const MARKED = "You can't perform this operation on the secret because it was marked for deletion."
const DAY_MS = 86_400_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every name ListSecrets returns for `input`, following NextToken to the end. */
async function listNames(client: SecretsManagerClient, input: ListSecretsCommandInput = {}): Promise<string[]> {
  const names: string[] = []
  for await (const page of paginateListSecrets({ client }, input)) {
    names.push(...(page.SecretList ?? []).map((s) => s.Name ?? ''))
  }
  return names
}

const filtered = (client: SecretsManagerClient, ...filters: Filter[]) => listNames(client, { Filters: filters })

interface RawAnswer { status: number; type: unknown }

/** A request the SDK would never send (it fills ClientRequestToken itself), signed just enough to pass. */
async function raw(sm: SecretsManagerEmulator, operation: string, body: object): Promise<RawAnswer> {
  const res = await fetch(`${sm.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `secretsmanager.${operation}`,
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/secretsmanager/aws4_request, '
        + 'SignedHeaders=host, Signature=00',
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, type: ((await res.json()) as Record<string, unknown>)['__type'] }
}

t.test('CreateSecret keeps Tags, Description, KmsKeyId; DescribeSecret shows them, omits the unset', async (t) => {
  const { sm, client } = await setup(t)
  await client.send(new CreateSecretCommand({
    Name: 'lwa/apps/ads', SecretString: CREDS, Description: 'Ads API app', KmsKeyId: 'alias/lwa',
    Tags: [{ Key: 'lwa:app', Value: 'ads' }, { Key: 'team', Value: 'growth' }],
  }))
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'lwa/apps/ads' }))
  t.same(described.Tags, [{ Key: 'lwa:app', Value: 'ads' }, { Key: 'team', Value: 'growth' }])
  t.equal(described.Description, 'Ads API app')
  t.equal(described.KmsKeyId, 'alias/lwa')
  t.equal(described.DeletedDate, undefined, 'live secrets have no DeletedDate')
  t.same(sm.tags('lwa/apps/ads'), { 'lwa:app': 'ads', team: 'growth' })

  sm.putSecret('plain', 'x')
  const plain = await client.send(new DescribeSecretCommand({ SecretId: 'plain' }))
  for (const field of ['Tags', 'Description', 'KmsKeyId', 'DeletedDate'] as const) {
    t.equal(plain[field], undefined, `no ${field}`)
  }
  t.same(sm.tags('plain'), {})
})

t.test('CreateSecret: a repeated token with the same value is idempotent, anything else ResourceExists', async (t) => {
  const { sm, client } = await setup(t)
  const token = 'c0ffee00-0000-4000-8000-000000000001'
  const create = (SecretString: string, ClientRequestToken?: string) => client.send(new CreateSecretCommand({
    Name: SECRET, SecretString, ClientRequestToken, Tags: [{ Key: 'k', Value: 'v' }],
  }))
  const first = await create(CREDS, token)
  const again = await create(CREDS, token)
  t.same([again.ARN, again.Name, again.VersionId], [first.ARN, SECRET, token], 'the same answer as the first time')
  t.equal(sm.versions(SECRET).length, 1, 'the retry added no version')

  const changed = await failure(create('other', token))
  t.type(changed, ResourceExistsException)
  t.match(changed, { message: `You can't use ClientRequestToken ${token} because that value is already in use `
    + `for a version of secret ${first.ARN}.` })
  const fresh = await failure(create(CREDS)) // the SDK fills in a new token
  t.type(fresh, ResourceExistsException)
  t.match(fresh, { message: `The operation failed because the secret ${SECRET} already exists.` })
  const untokened = await raw(sm, 'CreateSecret', { Name: SECRET, SecretString: CREDS })
  t.same(untokened, { status: 400, type: 'ResourceExistsException' }, 'no token at all')

  await t.rejects(create(CREDS, 'too-short'), { name: 'ValidationException' }, 'ClientRequestToken is 32-64 characters')
  const empty = await client.send(new CreateSecretCommand({ Name: 'no-value-yet' }))
  t.equal(empty.VersionId, undefined, 'no SecretString, no version')
  t.same(sm.versions('no-value-yet'), [])
})

t.test('TagResource adds and overwrites, UntagResource removes; both move LastChangedDate', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, CREDS, { tags: { 'lwa:app': 'ads', env: 'prod' } })
  const describe = () => client.send(new DescribeSecretCommand({ SecretId: SECRET }))
  const changedAt = async () => (await describe()).LastChangedDate?.getTime() ?? 0
  const before = await changedAt()
  await sleep(5)

  const tagged = await client.send(new TagResourceCommand({
    SecretId: SECRET, Tags: [{ Key: 'env', Value: 'staging' }, { Key: 'owner', Value: 'ads-team' }],
  }))
  t.equal(tagged.$metadata.httpStatusCode, 200)
  t.same(sm.tags(SECRET), { 'lwa:app': 'ads', env: 'staging', owner: 'ads-team' }, 'env overwritten, owner added')
  const afterTag = await changedAt()
  t.ok(afterTag > before, 'TagResource moved LastChangedDate')
  await sleep(5)

  await client.send(new UntagResourceCommand({ SecretId: SECRET, TagKeys: ['owner', 'never-there'] }))
  t.same((await describe()).Tags, [{ Key: 'lwa:app', Value: 'ads' }, { Key: 'env', Value: 'staging' }])
  t.ok((await changedAt()) > afterTag, 'UntagResource moved LastChangedDate')

  sm.tagSecret(SECRET, { rotated: 'yes' })
  sm.untagSecret(SECRET, ['env'])
  t.same((await describe()).Tags, [{ Key: 'lwa:app', Value: 'ads' }, { Key: 'rotated', Value: 'yes' }], 'helpers show')

  const tag = (SecretId: string, Key: string) =>
    client.send(new TagResourceCommand({ SecretId, Tags: [{ Key, Value: 'v' }] }))
  await t.rejects(tag('missing', 'a'), ResourceNotFoundException)
  const untag = client.send(new UntagResourceCommand({ SecretId: 'missing', TagKeys: ['a'] }))
  await t.rejects(untag, ResourceNotFoundException)
  await t.rejects(tag(SECRET, 'k'.repeat(129)), { name: 'ValidationException' }, 'tag keys are at most 128 characters')
  t.equal(sm.callCount({ operation: 'TagResource', secretId: SECRET }), 2, 'tag calls are logged per secret')
})

/** The same small catalogue for each filter test. */
function seedCatalogue(sm: SecretsManagerEmulator): void {
  const adsUs = { 'lwa:app': 'ads', region: 'us' }
  sm.putSecret('prod/lwa/ads-us', 'x', { tags: adsUs, description: 'Ads API production US' })
  const retired = { 'lwa:app': 'ads', region: 'eu', retired: 'true' }
  sm.putSecret('prod/lwa/ads-eu', 'x', { tags: retired, description: 'Ads API production EU' })
  sm.putSecret('prod/lwa/sp-us', 'x', { tags: { 'lwa:app': 'sp-api', region: 'us' } })
  sm.putSecret('Prod/legacy', 'x', { tags: { Owner: 'ops' } })
  sm.putSecret('staging/lwa/ads-us', 'x', { tags: { 'lwa:app': 'ads', env: 'us' } })
  sm.putSecret('untagged', 'x')
}

const PROD = ['prod/lwa/ads-us', 'prod/lwa/ads-eu', 'prod/lwa/sp-us']
const ALL_SEEDED = [...PROD, 'Prod/legacy', 'staging/lwa/ads-us', 'untagged']

t.test('ListSecrets: name, tag-key and tag-value are case-sensitive prefixes', async (t) => {
  const { sm, client } = await setup(t)
  seedCatalogue(sm)
  t.same(await filtered(client, { Key: 'name', Values: ['prod/'] }), PROD)
  t.same(await filtered(client, { Key: 'name', Values: ['Prod/'] }), ['Prod/legacy'])
  t.same(await filtered(client, { Key: 'name', Values: ['lwa/'] }), [], 'a prefix, not a substring')
  t.same(await filtered(client, { Key: 'tag-key', Values: ['lwa:'] }), [...PROD, 'staging/lwa/ads-us'])
  t.same(await filtered(client, { Key: 'tag-key', Values: ['owner'] }), [], 'tag keys are case-sensitive')
  t.same(await filtered(client, { Key: 'tag-value', Values: ['sp'] }), ['prod/lwa/sp-us'])
  t.same(await filtered(client, { Key: 'tag-value', Values: ['ADS'] }), [])

  const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['prod/lwa/ads-us'] }] }))
  const entry = listed.SecretList?.[0]
  t.same(entry?.Tags, [{ Key: 'lwa:app', Value: 'ads' }, { Key: 'region', Value: 'us' }], 'tags come with the listing')
  t.equal(entry?.Description, 'Ads API production US')
  t.ok(entry?.LastChangedDate instanceof Date)
  t.same(Object.values(entry?.SecretVersionsToStages ?? {}), [['AWSCURRENT']])
  t.match(entry?.ARN, /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/lwa\/ads-us-/)
})

t.test('ListSecrets: values OR, filters AND, ! negates; tag-key and tag-value match independently', async (t) => {
  const { sm, client } = await setup(t)
  seedCatalogue(sm)
  const name = (...Values: string[]): Filter => ({ Key: 'name', Values })
  t.same(await filtered(client, name('staging/', 'Prod/')), ['Prod/legacy', 'staging/lwa/ads-us'], 'OR within a filter')
  const tagValue = (...Values: string[]): Filter => ({ Key: 'tag-value', Values })
  const tagKey = (...Values: string[]): Filter => ({ Key: 'tag-key', Values })
  t.same(await filtered(client, name('prod/'), tagValue('us')), ['prod/lwa/ads-us', 'prod/lwa/sp-us'], 'AND across')
  t.same(await filtered(client, name('prod/'), name('prod/lwa/sp')), ['prod/lwa/sp-us'], 'the same key twice: AND')
  t.same(await filtered(client, tagKey('lwa:app'), tagKey('!retired')),
    ['prod/lwa/ads-us', 'prod/lwa/sp-us', 'staging/lwa/ads-us'], 'negation leaves out secrets carrying the tag')
  t.same(await filtered(client, name('!prod/', '!staging/')), ALL_SEEDED,
    'negated values are OR-ed like any other: no name starts with both')
  t.same(await filtered(client, name('!prod/'), name('!staging/')), ['Prod/legacy', 'untagged'], 'two filters AND')
  // Keys and values are matched separately: "tag-key env AND tag-value us" also matches region=us, env=prod.
  t.same(await filtered(client, tagKey('env'), tagValue('us')), ['staging/lwa/ads-us'])
  t.same(await filtered(client, tagKey('region'), tagValue('ads')),
    ['prod/lwa/ads-us', 'prod/lwa/ads-eu'], 'the key from one tag and the value from another still match')
})

t.test('ListSecrets: description and all match whole words, case-insensitively', async (t) => {
  const { sm, client } = await setup(t)
  seedCatalogue(sm)
  const description = (value: string) => filtered(client, { Key: 'description', Values: [value] })
  const all = (value: string) => filtered(client, { Key: 'all', Values: [value] })
  t.same(await description('production'), ['prod/lwa/ads-us', 'prod/lwa/ads-eu'])
  t.same(await description('api eu'), ['prod/lwa/ads-eu'], 'every word of a value must match')
  t.same(await description('duction'), [], 'words match from their start')
  t.same(await all('OPS'), ['Prod/legacy'], 'all looks in tag values')
  t.same(await all('legacy'), ['Prod/legacy'], 'all looks in name words')
  t.same(await all('!ads'), ['prod/lwa/sp-us', 'Prod/legacy', 'untagged'])
})

t.test('ListSecrets: bad filters, page sizes and tokens are the service\'s error types', async (t) => {
  const { sm, client } = await setup(t)
  seedCatalogue(sm)
  const list = (input: ListSecretsCommandInput) => failure(client.send(new ListSecretsCommand(input)))
  const noKey = await list({ Filters: [{ Values: ['x'] }] })
  t.type(noKey, InvalidParameterException)
  t.match(noKey, { message: 'Invalid filter key' })
  const badKey = await list({ Filters: [{ Key: 'label' as Filter['Key'], Values: ['x'] }] })
  t.match(badKey, { name: 'ValidationException', message: /Value 'label' at 'filters.1.member.key' failed to satisfy/ })
  t.type(await list({ Filters: [{ Key: 'name', Values: [] }] }), InvalidParameterException)
  const eleven = Array.from({ length: 11 }, (_, i) => `v${i}`)
  const invalid = { name: 'ValidationException' }
  t.match(await list({ Filters: [{ Key: 'name', Values: eleven }] }), invalid, 'at most 10 values')
  t.match(await list({ Filters: [{ Key: 'name', Values: ['prod#1'] }] }), invalid, '# is not allowed')
  t.match(await list({ MaxResults: 0 }), { name: 'ValidationException' })
  t.match(await list({ MaxResults: 101 }), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } })
  t.type(await list({ NextToken: 'not-a-token' }), InvalidNextTokenException)
  const byName = await client.send(new ListSecretsCommand({ SortBy: 'name', MaxResults: 1 }))
  t.type(await list({ NextToken: byName.NextToken }), InvalidNextTokenException, 'a token resumes only its own order')
  t.equal(sm.callCount({ operation: 'ListSecrets', ok: false }), 9)
})

t.test('ListSecrets over 5,000 secrets in pages of 100 visits each once, even while secrets are created', async (t) => {
  const { sm, client } = await setup(t)
  const total = 5_000
  const original = Array.from({ length: total }, (_, i) => `lwa/app-${String(i).padStart(5, '0')}`)
  for (const [i, name] of original.entries()) sm.putSecret(name, 'x', { tags: { shard: String(i % 7) } })

  const seen = new Map<string, number>()
  const created: string[] = []
  let pages = 0
  for await (const page of paginateListSecrets({ client, pageSize: 100 }, {})) {
    pages++
    t.ok((page.SecretList?.length ?? 0) <= 100)
    for (const s of page.SecretList ?? []) seen.set(s.Name ?? '', (seen.get(s.Name ?? '') ?? 0) + 1)
    if (pages % 10 === 0) {
      const name = `lwa/aaa-new-${pages}` // sorts before everything, created last
      await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }))
      created.push(name)
    }
  }
  t.ok(original.every((name) => seen.get(name) === 1), 'every existing secret exactly once')
  t.ok(created.every((name) => seen.get(name) === 1), 'secrets created mid-listing come last, once each')
  t.equal(seen.size, total + created.length)
  t.equal(pages, Math.ceil((total + created.length) / 100))
  t.equal(sm.callCount({ operation: 'ListSecrets' }), pages)

  // By name, a secret created behind the cursor is not seen, one ahead is; a deleted one never shifts a page.
  const byName: string[] = []
  const input: ListSecretsCommandInput = { SortBy: 'name', Filters: [{ Key: 'tag-value', Values: ['3'] }] }
  let step = 0
  for await (const page of paginateListSecrets({ client, pageSize: 100 }, input)) {
    byName.push(...(page.SecretList ?? []).map((s: SecretListEntry) => s.Name ?? ''))
    if (++step === 3) {
      sm.putSecret('lwa/app-00000-behind', 'x', { tags: { shard: '3' } })
      sm.putSecret('lwa/app-99999-ahead', 'x', { tags: { shard: '3' } })
      sm.deleteSecret(byName.at(-1) ?? '')
    }
  }
  t.same(byName, [...original.filter((_, i) => i % 7 === 3), 'lwa/app-99999-ahead'])
})

t.test('ListSecrets over 10,000 secrets in pages of 100 stays fast', async (t) => {
  const { sm, client } = await setup(t)
  for (let i = 0; i < 10_000; i++) sm.putSecret(`fleet/app-${i}`, 'x', { tags: { 'lwa:app': `app-${i % 50}` } })
  const started = Date.now()
  const names = await listNames(client, { MaxResults: 100 })
  const tagged = await listNames(client, { MaxResults: 100, Filters: [{ Key: 'tag-value', Values: ['app-4'] }] })
  const elapsedMs = Date.now() - started
  t.equal(new Set(names).size, 10_000)
  t.equal(tagged.length, (10_000 / 50) * 11, 'app-4 and app-40..app-49 (prefix match)')
  t.ok(elapsedMs < 10_000, `listed in ${elapsedMs} ms`)
  t.equal(sm.callCount({ operation: 'ListSecrets' }), 100 + Math.ceil(tagged.length / 100))
})

t.test('DeleteSecret schedules deletion: reads fail, Describe shows DeletedDate, Restore undoes it', async (t) => {
  const { sm, client } = await setup(t)
  const versionId = sm.putSecret(SECRET, CREDS, { tags: { 'lwa:app': 'ads' } })
  const before = Date.now()
  const deleted = await client.send(new DeleteSecretCommand({ SecretId: SECRET, RecoveryWindowInDays: 7 }))
  t.equal(deleted.Name, SECRET)
  t.match(deleted.ARN, /secret:prod\/lwa\/ads-us-/)
  const deletionMs = deleted.DeletionDate?.getTime() ?? 0
  t.ok(deletionMs >= before + 7 * DAY_MS && deletionMs <= Date.now() + 7 * DAY_MS, 'DeletionDate is now + 7 days')
  t.same(sm.deletionDate(SECRET), deleted.DeletionDate)

  const refused = [
    client.send(new GetSecretValueCommand({ SecretId: SECRET })),
    client.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: 'new' })),
    client.send(new UpdateSecretVersionStageCommand({
      SecretId: SECRET, VersionStage: 'AWSPENDING', MoveToVersionId: versionId,
    })),
    client.send(new TagResourceCommand({ SecretId: SECRET, Tags: [{ Key: 'a', Value: 'b' }] })),
    client.send(new UntagResourceCommand({ SecretId: SECRET, TagKeys: ['lwa:app'] })),
    client.send(new DeleteSecretCommand({ SecretId: SECRET })),
  ]
  for (const err of await Promise.all(refused.map(failure))) {
    t.type(err, InvalidRequestException)
    t.match(err, { message: MARKED, $metadata: { httpStatusCode: 400 } })
  }
  const recreate = await failure(client.send(new CreateSecretCommand({ Name: SECRET, SecretString: 'again' })))
  t.type(recreate, InvalidRequestException)
  t.match(recreate, { message: /already scheduled for deletion/ })

  const described = await client.send(new DescribeSecretCommand({ SecretId: SECRET }))
  t.ok(described.DeletedDate instanceof Date, 'DescribeSecret still answers, with DeletedDate')
  t.same(described.Tags, [{ Key: 'lwa:app', Value: 'ads' }])
  t.same(await listNames(client), [], 'ListSecrets leaves it out by default')

  const restored = await client.send(new RestoreSecretCommand({ SecretId: SECRET }))
  t.same({ ARN: restored.ARN, Name: restored.Name }, { ARN: deleted.ARN, Name: SECRET })
  const value = await client.send(new GetSecretValueCommand({ SecretId: SECRET }))
  t.equal(value.SecretString, CREDS, 'readable again, value kept')
  t.equal((await client.send(new DescribeSecretCommand({ SecretId: SECRET }))).DeletedDate, undefined)
  t.equal(sm.deletionDate(SECRET), undefined)
  const again = client.send(new RestoreSecretCommand({ SecretId: SECRET }))
  await t.rejects(again, InvalidRequestException, 'nothing to restore')

  const byDefault = await client.send(new DeleteSecretCommand({ SecretId: SECRET }))
  t.ok((byDefault.DeletionDate?.getTime() ?? 0) >= before + 30 * DAY_MS, 'the default window is 30 days')
})

t.test('IncludePlannedDeletion lists secrets scheduled for deletion, with DeletedDate', async (t) => {
  const { sm, client } = await setup(t)
  for (const name of ['lwa/a', 'lwa/b', 'lwa/c']) sm.putSecret(name, 'x')
  sm.scheduleDeletion('lwa/b')
  t.same(await listNames(client), ['lwa/a', 'lwa/c'])
  const all = (await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList ?? []
  t.same(all.map((s) => s.Name), ['lwa/a', 'lwa/b', 'lwa/c'])
  t.ok(all[1]?.DeletedDate instanceof Date)
  t.equal(all[0]?.DeletedDate, undefined)
  const onlyB = await listNames(client, { IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: ['lwa/b'] }] })
  t.same(onlyB, ['lwa/b'])

  sm.restoreSecret('lwa/b')
  t.same(await listNames(client), ['lwa/a', 'lwa/b', 'lwa/c'])
  const deletion = sm.scheduleDeletion('lwa/c', 10)
  t.ok(deletion.getTime() > Date.now() + 9 * DAY_MS)
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: 'lwa/c' })), InvalidRequestException)
})

t.test('DeleteSecret arguments, force delete and missing secrets', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret(SECRET, CREDS)
  const del = (input: { RecoveryWindowInDays?: number; ForceDeleteWithoutRecovery?: boolean }) =>
    client.send(new DeleteSecretCommand({ SecretId: SECRET, ...input }))
  const both = await failure(del({ RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }))
  t.type(both, InvalidParameterException)
  t.match(both, { message: /ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays/ })
  for (const days of [6, 31]) {
    await t.rejects(del({ RecoveryWindowInDays: days }), InvalidParameterException, `${days} days`)
  }
  const value = await client.send(new GetSecretValueCommand({ SecretId: SECRET }))
  t.equal(value.SecretString, CREDS, 'rejected deletes changed nothing')

  const started = Date.now()
  const forced = await del({ ForceDeleteWithoutRecovery: true })
  const deletedMs = forced.DeletionDate?.getTime() ?? 0
  t.ok(deletedMs >= started - 1000 && deletedMs <= Date.now() + 1000, 'deleted now')
  await t.rejects(client.send(new GetSecretValueCommand({ SecretId: SECRET })), ResourceNotFoundException)
  const byArn = client.send(new DescribeSecretCommand({ SecretId: forced.ARN }))
  await t.rejects(byArn, ResourceNotFoundException, 'gone by ARN too')
  await t.rejects(client.send(new RestoreSecretCommand({ SecretId: SECRET })), ResourceNotFoundException)
  await t.rejects(del({}), ResourceNotFoundException)
  const reborn = await client.send(new CreateSecretCommand({ Name: SECRET, SecretString: 'new' }))
  t.not(reborn.ARN, forced.ARN, 'the name is free again, with a new ARN')

  sm.scheduleDeletion(SECRET)
  await del({ ForceDeleteWithoutRecovery: true })
  t.same(sm.versions(SECRET), [], 'a scheduled secret can still be force-deleted')
  t.same(await listNames(client, { IncludePlannedDeletion: true }), [])
})

t.test('ThrottlingException on ListSecrets reaches a caller without retries; the SDK retries it', async (t) => {
  const { sm, client } = await setup(t)
  sm.putSecret('lwa/a', 'x')
  sm.failNext({ kind: 'error', type: 'ThrottlingException' }, 1, { operation: 'ListSecrets' })
  const throttled = await failure(client.send(new ListSecretsCommand({})))
  t.match(throttled, { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'lwa/a' }))
  t.equal(described.Name, 'lwa/a', 'other operations unaffected')

  sm.setFault({ kind: 'error', type: 'ThrottlingException' }, { operation: 'ListSecrets' })
  await t.rejects(listNames(client), { name: 'ThrottlingException' }, 'a standing throttle fails every page')
  await t.rejects(listNames(client), { name: 'ThrottlingException' })
  sm.setFault(null, { operation: 'ListSecrets' })
  t.same(await listNames(client), ['lwa/a'], 'cleared, the caller\'s next attempt succeeds')
  t.equal(sm.callCount({ operation: 'ListSecrets', ok: false }), 3)

  const retrying = await setup(t, 3)
  retrying.sm.putSecret('lwa/a', 'x')
  retrying.sm.failNext({ kind: 'error', type: 'ThrottlingException' }, 2, { operation: 'ListSecrets' })
  t.same(await listNames(retrying.client), ['lwa/a'])
  t.equal(retrying.sm.callCount({ operation: 'ListSecrets' }), 3)
  t.same(retrying.sm.calls.map((c) => c.errorType), ['ThrottlingException', 'ThrottlingException', undefined])
})
