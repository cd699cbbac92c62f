import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

interface Statement {
  Sid: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}

type Policy = { Version: string; Statement: Statement[] }
const read = (path: string): string => readFileSync(join(import.meta.dirname, '../..', path), 'utf8')
const policy = JSON.parse(read('deploy/iam-policy.json')) as Policy
const importPolicy = JSON.parse(read('deploy/iam-import-policy.json')) as Policy
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v])

/** The SDK clients whose calls the broker's policy grants, by the IAM service prefix of their actions. */
const sdkClients = new Map([['@aws-sdk/client-secrets-manager', 'secretsmanager'], ['@aws-sdk/client-sqs', 'sqs']])
const importPattern = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g

/**
 * The AWS calls the broker's own code sends (the operator CLI under src/cli has its own policy): each
 * `new XCommand(` whose XCommand is imported from one of `sdkClients`, as `prefix:X`.
 */
function callsSent(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'cli' ? [] : callsSent(path)
    const text = readFileSync(path, 'utf8')
    const actions = new Map<string, string>()
    for (const [, names = '', from = ''] of text.matchAll(importPattern)) {
      const prefix = sdkClients.get(from)
      if (prefix === undefined) continue
      for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) {
        const [imported = '', local = imported] = name.replace(/^type\s+/, '').split(/\s+as\s+/)
        const command = /^(\w+)Command$/.exec(imported)
        if (command) actions.set(local, `${prefix}:${command[1]}`)
      }
    }
    return [...text.matchAll(/new (\w+)\(/g)].flatMap((m) => actions.get(m[1] as string) ?? [])
  })
}


const appSecrets = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/lwa/apps/*'
const notificationQueue = 'arn:aws:sqs:us-east-1:123456789012:lwa-broker-app-secrets'

t.test('the IAM policy grants exactly the Secrets Manager and SQS calls the broker makes', async (t) => {
  t.equal(policy.Version, '2012-10-17')
  const sent = [...new Set(callsSent(join(import.meta.dirname, '../../src')))].sort()
  const expected = [...new Set(sent)].sort()
  t.same(expected, [
    'secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
    'secretsmanager:ListSecrets', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
    'sqs:DeleteMessage', 'sqs:ReceiveMessage',
  ], 'what the code sends')
  const actions = new Set(policy.Statement.flatMap((s) => list(s.Action)).filter((a) => !a.startsWith('kms:')))
  // Tags given to CreateSecret (a consent creating its credential) need TagResource as well.
  t.same([...actions].sort(), [...expected, 'secretsmanager:TagResource'].sort())
  const create = policy.Statement.find((s) => list(s.Action).includes('secretsmanager:CreateSecret'))
  t.same(list(create?.Resource ?? []), ['arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/lwa/sellers/*'], 'only where onboarding creates')
  t.match(create?.Condition, { Null: { 'aws:RequestTag/lwa-broker:credential': 'false' }, 'ForAllValues:StringLike': { 'aws:TagKeys': ['lwa-broker:*'] } })
})

t.test('least privilege: no wildcard action or resource, writes narrower than reads, KMS only through Secrets Manager', async (t) => {
  for (const s of policy.Statement) {
    t.equal(s.Effect, 'Allow', s.Sid)
    for (const action of list(s.Action)) t.notMatch(action, /\*/, `${s.Sid}: ${action} is not a wildcard`)
    // ListSecrets cannot be scoped to resources (IAM has no resource type for it); it reads no value.
    if (list(s.Action).join() === 'secretsmanager:ListSecrets') continue
    for (const resource of list(s.Resource)) t.not(resource, '*', `${s.Sid}: a resource is named`)
  }
  const writes = policy.Statement.filter((s) => list(s.Action).some((a) => /^secretsmanager:(?!Get|Describe|List)/.test(a)))
  for (const s of writes) {
    t.notOk(list(s.Resource).includes('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/lwa/*'), `${s.Sid} does not write every secret it reads`)
  }
  const appWrites = writes.filter((s) => list(s.Resource).includes(appSecrets))
  t.same(appWrites.map((s) => [...list(s.Action)].sort()), [['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']],
    'app secrets (client secrets) take a new version and its staging labels, nothing else')
  const stages = policy.Statement.filter((s) => list(s.Action).includes('secretsmanager:UpdateSecretVersionStage'))
  t.same(stages.map((s) => list(s.Resource)), [[appSecrets]], 'staging labels move on app secrets only')
  const kms = policy.Statement.find((s) => list(s.Action).some((a) => a.startsWith('kms:')))
  t.match(kms?.Condition, { StringEquals: { 'kms:ViaService': /^secretsmanager\./ } })
})

t.test('SQS: receive and delete on the one queue Amazon sends new client secrets to, nothing else', async (t) => {
  const sqs = policy.Statement.filter((s) => list(s.Action).some((a) => a.startsWith('sqs:')))
  t.equal(sqs.length, 1, 'one statement')
  t.same([...list(sqs[0]?.Action ?? [])].sort(), ['sqs:DeleteMessage', 'sqs:ReceiveMessage'])
  t.same(list(sqs[0]?.Resource ?? []), [notificationQueue])
})

t.test('the import policy grants exactly the Secrets Manager calls import-credentials makes, no read of a value', async (t) => {
  t.equal(importPolicy.Version, '2012-10-17')
  // The commands the import sends, from its source: a new call without a grant (or a grant left over) fails here.
  const sent = [...read('src/cli/import-run.ts').matchAll(/new (\w+)Command\(/g)].map((m) => `secretsmanager:${m[1]}`)
  const granted = importPolicy.Statement.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('secretsmanager:'))
  t.same([...new Set(granted)].sort(), [...new Set(sent)].sort())
  t.notOk(granted.includes('secretsmanager:GetSecretValue'), 'unchanged is told by version id, not by reading values')
  for (const s of importPolicy.Statement) {
    t.equal(s.Effect, 'Allow', s.Sid)
    for (const action of list(s.Action)) t.notMatch(action, /\*/, `${s.Sid}: ${action} is not a wildcard`)
    for (const resource of list(s.Resource)) t.not(resource, '*', `${s.Sid}: a resource is named`)
  }
})

t.test('the import writes only under its name prefix, only secrets tagged as credentials, only lwa-broker tags', async (t) => {
  const prefix = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lwa-broker/*'
  const writes = ['CreateSecret', 'TagResource', 'UntagResource', 'PutSecretValue', 'UpdateSecretVersionStage']
  const writing = importPolicy.Statement.filter((s) => list(s.Action).some((a) => writes.includes(a.split(':')[1] ?? '')))
  for (const s of writing) t.same(list(s.Resource), [prefix], `${s.Sid} is scoped to the prefix`)
  const create = importPolicy.Statement.find((s) => list(s.Action).includes('secretsmanager:CreateSecret'))
  t.same(list(create?.Action ?? []).sort(), ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
    'tags given to CreateSecret need TagResource as well')
  t.match(create?.Condition, {
    Null: { 'aws:RequestTag/lwa-broker:credential': 'false' },
    'ForAllValues:StringLike': { 'aws:TagKeys': ['lwa-broker:*'] },
  })
  const untag = importPolicy.Statement.find((s) => list(s.Action).includes('secretsmanager:UntagResource'))
  t.match(untag?.Condition, { 'ForAllValues:StringLike': { 'aws:TagKeys': ['lwa-broker:*'] } }, 'other teams\' tags stay')
  const updates = importPolicy.Statement.filter((s) => list(s.Action).some((a) => /PutSecretValue|UpdateSecretVersionStage|Untag/.test(a)))
  for (const s of updates) t.match(s.Sid, /^OnlyWithUpdate/, `${s.Sid}: needed only with --update, and named so`)
  const kms = importPolicy.Statement.find((s) => list(s.Action).some((a) => a.startsWith('kms:')))
  t.match(kms, { Sid: /^OnlyWithKmsKeyId/, Condition: { StringEquals: { 'kms:ViaService': /^secretsmanager\./ } } })
})

t.test('the queue policy lets only the Selling Partner API account send to the broker\'s queue; the README shows it', async (t) => {
  interface QueueStatement extends Statement { Principal?: { AWS?: string | string[] } }
  const queuePolicy = JSON.parse(read('deploy/sqs-queue-policy.json')) as { Version: string; Statement: QueueStatement[] }
  t.equal(queuePolicy.Version, '2012-10-17')
  t.equal(queuePolicy.Statement.length, 1)
  const [statement] = queuePolicy.Statement
  t.equal(statement?.Effect, 'Allow')
  // Amazon's SP-API notifications account ("Set up credential rotation notifications", step 1).
  t.same(list(statement?.Principal?.AWS ?? []), ['arn:aws:iam::437568002678:root'])
  t.same([...list(statement?.Action ?? [])].sort(), ['sqs:GetQueueAttributes', 'sqs:SendMessage'])
  t.same(list(statement?.Resource ?? []), [notificationQueue], 'the queue the broker receives from')
  const blocks = [...read('README.md').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  t.ok(blocks.some((b) => JSON.stringify(JSON.parse(b)) === JSON.stringify(queuePolicy)), 'the README shows this policy')
})
