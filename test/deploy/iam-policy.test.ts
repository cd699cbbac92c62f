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

/** The Secrets Manager commands the broker's own code sends (the operator CLI under src/cli has its own policy). */
function commandsSent(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'cli' ? [] : commandsSent(path)
    const text = readFileSync(path, 'utf8')
    if (!text.includes('@aws-sdk/client-secrets-manager')) return []
    return [...text.matchAll(/new (\w+)Command\(/g)].map((m) => `secretsmanager:${m[1]}`)
  })
}

t.test('the IAM policy grants exactly the Secrets Manager calls the broker makes', async (t) => {
  t.equal(policy.Version, '2012-10-17')
  const actions = new Set(policy.Statement.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('secretsmanager:')))
  const sent = [...new Set(commandsSent(join(import.meta.dirname, '../../src')))].sort()
  t.same(sent, ['secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecrets', 'secretsmanager:PutSecretValue'], 'what the code sends')
  // Tags given to CreateSecret (a consent creating its credential) need TagResource as well.
  t.same([...actions].sort(), [...sent, 'secretsmanager:TagResource'].sort())
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
  const writes = policy.Statement.find((s) => list(s.Action).includes('secretsmanager:PutSecretValue'))
  t.notOk(list(writes?.Resource ?? []).includes('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/lwa/*'), 'app secrets (client secrets) are not writable')
  const kms = policy.Statement.find((s) => list(s.Action).some((a) => a.startsWith('kms:')))
  t.match(kms?.Condition, { StringEquals: { 'kms:ViaService': /^secretsmanager\./ } })
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
