// A broker killed between staging a new app client secret (AWSPENDING) and promoting it: the
// next broker process finishes the job at start-up, and serves sellers with the new secret.
import t from 'tap'
import { baseSecrets, fixtures, mintJwt } from '../helper.js'
import { processFixture, startBroker, waitFor } from '../support/broker-process.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'
import { newSecretType, notificationBody } from '../support/sp-api-notifications.js'
import { SqsEmulator } from '../support/sqs-emulator.js'

const awsEnv = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }
const app = 'lwa/apps/sp'
const newSecret = 'amzn1.oa2-cs.v1.after-the-crash-0123456789'

t.test('killed between AWSPENDING and promotion: the restarted broker promotes the staged secret', async (t) => {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  for (const [id, value] of Object.entries(baseSecrets())) sm.putSecret(id, value as object)
  const sqs = await SqsEmulator.start()
  t.teardown(() => sqs.close())
  sqs.createQueue('app-secrets', { maxReceiveCount: 5 })
  const { lwa, keys, configPath } = await processFixture(t, (c) => ({
    ...c, secrets: { backend: 'aws', region: 'us-east-1', endpoint: sm.url },
    apps: { notifications: { queueUrl: sqs.queueUrl('app-secrets'), region: 'us-east-1', endpoint: sqs.url, waitTimeSeconds: 1 } },
  }))
  lwa.addClientSecret(fixtures.spClient.clientId, newSecret)
  // The promotion hangs (longer than this test lasts): the broker is killed while it waits.
  sm.setFault({ kind: 'slow', ms: 120_000 }, { operation: 'UpdateSecretVersionStage' })
  const first = startBroker(configPath, awsEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  await first.listening()
  sqs.send('app-secrets', notificationBody({
    type: newSecretType, nowMs: Date.now(), payloadVersion: '2023-11-30',
    app: { applicationId: 'amzn1.sp.solution.test', subscriptionId: 'sub-1' },
    payload: { clientId: fixtures.spClient.clientId, newClientSecret: newSecret, newClientSecretExpiryTime: '2027-06-01T00:00:00Z', oldClientSecretExpiryTime: '2026-12-09T00:00:00Z' },
  }))
  const staged = () => JSON.parse(sm.current(app, 'AWSPENDING')?.value ?? '{}').client_secret === newSecret
  await waitFor(staged, 'the new secret to be staged')
  first.child.kill('SIGKILL')
  await first.exited
  t.equal(JSON.parse(sm.current(app)?.value ?? '{}').client_secret, fixtures.spClient.clientSecret, 'not promoted when it died')

  sm.setFault(null)
  const second = startBroker(configPath, awsEnv)
  t.teardown(() => { second.child.kill('SIGKILL') })
  const base = await second.listening()
  const promoted = () => JSON.parse(sm.current(app)?.value ?? '{}').client_secret === newSecret
  await waitFor(() => promoted() && sm.current(app, 'AWSPENDING') === undefined, 'the restarted broker to promote it, no AWSPENDING left', 20_000)
  t.ok(promoted())
  lwa.setClientSecrets(fixtures.spClient.clientId, [newSecret])
  const jwt = await mintJwt(keys, { claims: { sub: 'system:serviceaccount:platform:all' } })
  const res = await fetch(`${base}/token?credential=sp-notifications`, { headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.status, 200, 'served with the new secret, the old one retired')
  const { stdout, stderr } = { stdout: second.output().stdout + first.output().stdout, stderr: second.output().stderr + first.output().stderr }
  t.notOk(stdout.includes(newSecret) || stderr.includes(newSecret), 'the secret is in no log line')
})
