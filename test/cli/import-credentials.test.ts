import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DescribeSecretCommand, SecretsManagerClient, paginateListSecrets } from '@aws-sdk/client-secrets-manager'
import t from 'tap'
import { credentialFromTags } from '../../src/catalogue/tags.js'
import { cli } from '../support/run-cli.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

// Every run is a child process that loads the TypeScript sources with tap's loader: seconds each on a busy machine.
t.setTimeout(300_000)
type Entry = Record<string, unknown>

const APP = 'prod/lwa/apps/sp-main'
const PREFIX = 'lwa-broker/'
/** The SDK's default chain would otherwise read this machine's profile; the emulator skips signature checks. */
const awsEnv = {
  AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  // The SDK's notice that it will soon need Node 22 would be the only other line on stderr.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
}

const refreshToken = (): string => `Atzr|IwEBI${randomBytes(180).toString('base64url')}`
const clientSecret = (): string => `amzn1.oa2-cs.v1.${randomBytes(32).toString('hex')}`
const clientId = (): string => `amzn1.application-oa2-client.${randomBytes(16).toString('hex')}`

/** Three layouts in turn: an Ads credential in one secret, an SP-API seller of a shared app, a grantless scope. */
function entry(i: number): Entry {
  const labels = { team: `team-${i % 7}`, tenant: `t${i}` }
  if (i % 3 === 0) {
    return { name: `ads-${i}`, api: 'ads', region: 'na', profileId: String(1000 + i), labels,
      client_id: clientId(), client_secret: clientSecret(), refresh_token: refreshToken() }
  }
  if (i % 3 === 1) {
    return { name: `sp-${i}`, api: 'sp-api', region: 'eu', app: APP, sellingPartnerId: `A${i}SELLER`,
      onboarding: { applicationId: 'amzn1.sp.solution.1234' }, labels, refresh_token: refreshToken() }
  }
  return { name: `grantless-${i}`, api: 'sp-api', region: 'fe', grant: 'client_credentials',
    scope: 'sellingpartnerapi::notifications', labels, client_id: clientId(), client_secret: clientSecret() }
}

const jsonl = (entries: Entry[]): string => entries.map((e) => JSON.stringify(e)).join('\n') + '\n'

/** Every secret value in the input: none may appear anywhere in what the CLI prints. */
function secretsIn(text: string): string[] {
  return [...text.matchAll(/"(?:refresh_token|client_secret|client_id)":"([^"]+)"/g)].map((m) => m[1] as string)
}

interface Fixture {
  sm: SecretsManagerEmulator
  dir: string
  run(input: string, flags?: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
}

async function fixture(t: Test): Promise<Fixture> {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  sm.putSecret(APP, { client_id: clientId(), client_secret: clientSecret() })
  const dir = t.testdir({})
  let runs = 0
  return {
    sm, dir,
    async run(input, flags = []) {
      const file = join(dir, `credentials-${++runs}.jsonl`)
      writeFileSync(file, input)
      const res = await cli(['import-credentials', file, '--endpoint', sm.url, ...flags], awsEnv)
      for (const secret of secretsIn(input)) {
        if (res.stdout.includes(secret) || res.stderr.includes(secret)) t.fail('a secret value was printed')
      }
      return res
    },
  }
}

const value = (sm: SecretsManagerEmulator, name: string): unknown => JSON.parse(sm.current(`${PREFIX}${name}`)?.value ?? 'null')
const summary = (stdout: string): string | undefined => stdout.trim().split('\n').at(-1)
const writes = (sm: SecretsManagerEmulator): number =>
  ['CreateSecret', 'PutSecretValue', 'TagResource', 'UntagResource', 'UpdateSecretVersionStage']
    .reduce((n, operation) => n + sm.callCount({ operation }), 0)

t.test('1,000 credentials become tagged secrets the broker reads back; a re-run changes nothing', async (t) => {
  const { sm, run } = await fixture(t)
  const entries = Array.from({ length: 1000 }, (_, i) => entry(i))
  const input = jsonl(entries)

  const first = await run(input)
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stderr, '')
  t.equal(summary(first.stdout), 'created 1000, unchanged 0, updated 0, conflicts 0, invalid 0, failed 0')
  t.match(first.stdout, /^created +lwa-broker\/ads-0$/m)
  t.equal(sm.callCount({ operation: 'CreateSecret', ok: true }), 1000)
  t.equal(sm.callCount({ operation: 'DescribeSecret', secretId: APP }), 1, 'the shared app is checked once')
  t.same(value(sm, 'ads-0'), { client_id: entries[0]?.client_id, client_secret: entries[0]?.client_secret,
    refresh_token: entries[0]?.refresh_token })
  t.same(value(sm, 'sp-1'), { refresh_token: entries[1]?.refresh_token }, 'a seller of a shared app: its grant only')
  t.same(value(sm, 'grantless-2'), { client_id: entries[2]?.client_id, client_secret: entries[2]?.client_secret })

  const client = new SecretsManagerClient({ endpoint: sm.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })
  t.teardown(() => client.destroy())
  const read = new Map<string, ReturnType<typeof credentialFromTags>>()
  for await (const page of paginateListSecrets({ client }, { Filters: [{ Key: 'name', Values: [PREFIX] }] })) {
    for (const s of page.SecretList ?? []) {
      const tags = Object.fromEntries((s.Tags ?? []).map((tag) => [tag.Key, tag.Value]))
      read.set(s.Name ?? '', credentialFromTags({ arn: s.ARN ?? '', name: s.Name ?? '', tags }))
    }
  }
  t.equal(read.size, 1000)
  const notOk = [...read].filter(([, c]) => !c.ok).map(([name]) => name)
  t.same(notOk, [], 'every secret\'s tags are a credential the broker accepts')
  for (const [i, e] of entries.entries()) {
    const got = read.get(`${PREFIX}${e.name}`)
    if (!got?.ok || got.name !== e.name || got.credential.api !== e.api || got.credential.region !== e.region) {
      t.fail(`entry ${i} read back as ${JSON.stringify(got)}`)
    } else if (JSON.stringify(got.credential.labels) !== JSON.stringify(e.labels)) {
      t.fail(`entry ${i}: labels ${JSON.stringify(got.credential.labels)}`)
    }
  }
  t.match(read.get(`${PREFIX}sp-1`), { ok: true, credential: { grant: 'refresh_token', appSecret: APP, sellingPartnerId: 'A1SELLER',
    onboarding: { api: 'sp-api', applicationId: 'amzn1.sp.solution.1234', draft: false } } })
  t.match(read.get(`${PREFIX}ads-0`), { ok: true, credential: { profileId: '1000', appSecret: /^arn:aws:secretsmanager:.*:secret:lwa-broker\/ads-0-/ } })
  t.match(read.get(`${PREFIX}grantless-2`), { ok: true, credential: { grant: 'client_credentials', scope: 'sellingpartnerapi::notifications' } })

  sm.reset()
  const again = await run(input)
  t.equal(again.code, 0, again.stderr)
  t.equal(summary(again.stdout), 'created 0, unchanged 1000, updated 0, conflicts 0, invalid 0, failed 0')
  t.equal(writes(sm), 0, 'no write call at all')
  t.equal(sm.callCount({ operation: 'GetSecretValue' }), 0, 'unchanged is told without reading a secret value')
  t.ok(entries.every((e) => sm.versions(`${PREFIX}${e.name}`).length === 1), 'no new secret version')
})

t.test('a changed value or tag is a conflict and is left alone; --update overwrites it', async (t) => {
  const { sm, run } = await fixture(t)
  const entries: Entry[] = [entry(0), entry(1), entry(2)]
  t.equal((await run(jsonl(entries))).code, 0)
  const original = { ads: value(sm, 'ads-0'), sp: value(sm, 'sp-1') }

  const changed = structuredClone(entries)
  changed[0] = { ...changed[0], refresh_token: refreshToken() }
  changed[1] = { ...changed[1], labels: { team: 'platform' } } // tenant removed, team changed
  const conflicting = await run(jsonl(changed))
  t.equal(conflicting.code, 1)
  t.match(conflicting.stderr, /^conflict +lwa-broker\/ads-0: holds another value \(--update overwrites\)$/m)
  t.match(conflicting.stderr,
    /^conflict +lwa-broker\/sp-1: tags differ: lwa-broker:label:team, lwa-broker:label:tenant \(--update overwrites\)$/m)
  t.equal(summary(conflicting.stdout), 'created 0, unchanged 1, updated 0, conflicts 2, invalid 0, failed 0')
  t.same(value(sm, 'ads-0'), original.ads, 'not overwritten')
  t.equal(sm.tags(`${PREFIX}sp-1`)['lwa-broker:label:tenant'], 't1')

  sm.tagSecret(`${PREFIX}sp-1`, { 'cost-centre': 'cc-42' })
  const updated = await run(jsonl(changed), ['--update'])
  t.equal(updated.code, 0, updated.stderr)
  t.equal(summary(updated.stdout), 'created 0, unchanged 1, updated 2, conflicts 0, invalid 0, failed 0')
  t.match(updated.stdout, /^updated +lwa-broker\/ads-0: holds another value$/m)
  t.same(value(sm, 'ads-0'), { ...(original.ads as object), refresh_token: changed[0]?.refresh_token })
  t.equal(sm.versions(`${PREFIX}ads-0`).length, 2, 'a new version; the old one is AWSPREVIOUS')
  t.same(sm.tags(`${PREFIX}sp-1`), { ...sm.tags(`${PREFIX}sp-1`), 'lwa-broker:label:team': 'platform', 'cost-centre': 'cc-42' })
  t.notOk('lwa-broker:label:tenant' in sm.tags(`${PREFIX}sp-1`), 'a label no longer in the file is removed')
  t.equal(sm.callCount({ operation: 'PutSecretValue' }), 1, 'the value is written only where it changed')

  const back = await run(jsonl(entries), ['--update'])
  t.equal(back.code, 0, back.stderr)
  t.same(value(sm, 'ads-0'), original.ads, 'back to the first value: its version is current again')
  t.equal(sm.versions(`${PREFIX}ads-0`).length, 2, 'the earlier version is reused, not written again')
  t.equal(sm.callCount({ operation: 'UpdateSecretVersionStage' }), 1)
})

t.test('--dry-run checks every entry and says what would happen, writing nothing', async (t) => {
  const { sm, run } = await fixture(t)
  const entries = [entry(0), entry(1), entry(2)]
  // Made by hand before the migration: another version id, no lwa-broker tags.
  sm.putSecret(`${PREFIX}grantless-2`, { client_id: 'x', client_secret: 'y' }, { tags: { owner: 'billing' } })
  sm.reset()
  const planned = await run(jsonl(entries), ['--dry-run'])
  t.equal(planned.code, 1, 'a conflict fails a dry run too')
  t.match(planned.stdout, /^would create +lwa-broker\/sp-1$/m)
  t.match(planned.stderr, /^conflict +lwa-broker\/grantless-2: holds another value; tags differ: lwa-broker:api, lwa-broker:credential, /m)
  t.equal(summary(planned.stdout),
    'dry run, nothing written: would create 2, unchanged 0, would update 0, conflicts 1, invalid 0, failed 0')

  const update = await run(jsonl(entries), ['--dry-run', '--update'])
  t.equal(update.code, 0, update.stderr)
  t.match(update.stdout, /^would update +lwa-broker\/grantless-2: holds another value; tags differ: /m)
  t.equal(writes(sm), 0)
  t.same(sm.versions(`${PREFIX}ads-0`), [], 'no secret made')
  t.same(sm.tags(`${PREFIX}grantless-2`), { owner: 'billing' }, 'none changed')
})

t.test('invalid entries are named by line and field; the valid ones are imported, or none with --strict', async (t) => {
  const { sm, run } = await fixture(t)
  const token = refreshToken()
  const lines = [
    JSON.stringify(entry(0)),
    `{"name":"broken","refresh_token":"${token}"`,
    JSON.stringify({ ...entry(1), refresh_token: undefined }),
    JSON.stringify({ ...entry(4), profileId: '12' }),
    JSON.stringify({ ...entry(7), sellingPartnerID: 'A1' }),
    '',
    JSON.stringify({ ...entry(10), labels: { Team: 'x' } }),
    JSON.stringify({ ...entry(0), refresh_token: refreshToken() }),
    JSON.stringify({ ...entry(13), app: 'prod/lwa/apps/missing' }),
    JSON.stringify({ ...entry(16), client_id: clientId() }),
    JSON.stringify({ ...entry(19), name: `bad|${token}` }),
    JSON.stringify({ ...entry(22), secret: 'prod/lwa/x' }),
    JSON.stringify({ ...entry(3), api: 'appstore' }),
    JSON.stringify(entry(2)),
  ]
  const input = lines.join('\n')
  const res = await run(input)
  t.equal(res.code, 1)
  const invalid = res.stderr.trim().split('\n')
  t.same(invalid, [
    'invalid       line 2: (line): is not a JSON object',
    'invalid       line 3 (sp-1): refresh_token: is required for the refresh_token grant',
    'invalid       line 4 (sp-4): profileId: applies only to api "ads"',
    'invalid       line 5 (sp-7): sellingPartnerID: must NOT have additional properties',
    'invalid       line 7 (sp-10): labels.Team: must NOT have additional properties',
    'invalid       line 8 (ads-0): name: repeats the credential of line 1',
    'invalid       line 9 (sp-13): app: names no secret',
    'invalid       line 10 (sp-16): client_id: must be left out: it is in the secret "app" names',
    'invalid       line 11: name: must be a credential name (letters, digits, ".", "_", "-"; up to 128)',
    'invalid       line 12 (sp-22): secret: is the secret the import creates; a shared app secret is named by "app"',
    'invalid       line 13 (ads-3): grant: the Appstore APIs only use the client_credentials grant',
  ])
  t.equal(summary(res.stdout), 'created 2, unchanged 0, updated 0, conflicts 0, invalid 11, failed 0')
  t.same(sm.calls.filter((c) => c.operation === 'CreateSecret').map((c) => c.secretId).sort(),
    [`${PREFIX}ads-0`, `${PREFIX}grantless-2`], 'only the valid entries were created')
  t.notMatch(res.stderr + res.stdout, token)

  sm.deleteSecret(`${PREFIX}ads-0`)
  sm.deleteSecret(`${PREFIX}grantless-2`)
  sm.reset()
  const strict = await run(input, ['--strict'])
  t.equal(strict.code, 1)
  t.match(strict.stderr, /^--strict: an entry is invalid, so nothing was written$/m)
  t.equal(summary(strict.stdout), 'created 0, unchanged 0, updated 0, conflicts 0, invalid 11, failed 0')
  t.equal(writes(sm), 0)
})

t.test('stdin with -, a KMS key, a name prefix', async (t) => {
  const { sm } = await fixture(t)
  const input = jsonl([entry(0), entry(1)])
  const res = await cli(['import-credentials', '-', '--endpoint', sm.url, '--name-prefix', 'prod/lwa/imported/',
    '--kms-key-id', 'alias/lwa-broker'], awsEnv, input)
  t.equal(res.code, 0, res.stderr)
  t.equal(summary(res.stdout), 'created 2, unchanged 0, updated 0, conflicts 0, invalid 0, failed 0')
  for (const secret of secretsIn(input)) t.notOk(res.stdout.includes(secret) || res.stderr.includes(secret))
  const client = new SecretsManagerClient({ endpoint: sm.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } })
  t.teardown(() => client.destroy())
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'prod/lwa/imported/sp-1' }))
  t.equal(described.KmsKeyId, 'alias/lwa-broker')
  t.match(described.Tags, [{ Key: 'lwa-broker:credential', Value: 'sp-1' }])
})

t.test('throttling is retried by the SDK; an access-denied secret fails alone', async (t) => {
  const { sm, run } = await fixture(t)
  sm.failNext({ kind: 'error', type: 'ThrottlingException' }, 3, { operation: 'CreateSecret', secretId: `${PREFIX}ads-0` })
  sm.failNext({ kind: 'error', type: 'AccessDeniedException' }, 1, { operation: 'CreateSecret', secretId: `${PREFIX}sp-1` })
  const res = await run(jsonl([entry(0), entry(1), entry(2)]))
  t.equal(res.code, 1)
  t.match(res.stdout, /^created +lwa-broker\/ads-0$/m)
  t.equal(sm.callCount({ operation: 'CreateSecret', secretId: `${PREFIX}ads-0` }), 4, 'three throttled attempts, then created')
  t.match(res.stderr, /^failed +lwa-broker\/sp-1: CreateSecret: AccessDeniedException$/m)
  t.equal(summary(res.stdout), 'created 2, unchanged 0, updated 0, conflicts 0, invalid 0, failed 1')
})

t.test('an endpoint that is not https or loopback exits 2; an unreadable file or no region exits 1', async (t) => {
  const dir = t.testdir({ 'one.jsonl': jsonl([entry(0)]) })
  const file = join(dir, 'one.jsonl')
  t.match(await cli(['import-credentials', file, '--endpoint', 'http://sm.example'], awsEnv),
    { code: 2, stderr: /--endpoint must be https:\/\/, or http:\/\/ to a loopback address/ })
  t.match(await cli(['import-credentials', join(dir, 'nope.jsonl')], awsEnv), { code: 1, stderr: /cannot read .*nope\.jsonl: ENOENT/ })
  t.match(await cli(['import-credentials', file, '--endpoint', 'http://127.0.0.1:9'], { ...awsEnv, AWS_REGION: '' }),
    { code: 1, stderr: /no AWS region: give --region or set AWS_REGION/ })
})
