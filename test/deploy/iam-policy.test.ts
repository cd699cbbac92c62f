import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

interface Statement {
  Sid: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string>>
}

const policy = JSON.parse(readFileSync(join(import.meta.dirname, '../../deploy/iam-policy.json'), 'utf8')) as { Version: string; Statement: Statement[] }
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
  t.same(sent, ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecrets', 'secretsmanager:PutSecretValue'], 'what the code sends')
  t.same([...actions].sort(), sent)
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
