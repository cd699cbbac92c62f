import { randomBytes } from 'node:crypto'
import t from 'tap'
import { LwaEmulator } from '../support/lwa-emulator.js'
import { cli } from '../support/run-cli.js'
import { SecretsManagerEmulator } from '../support/secrets-manager-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]
type Run = Awaited<ReturnType<typeof cli>>

// Every run is a child process that loads the TypeScript sources with tap's loader: seconds each on a busy machine.
t.setTimeout(300_000)

const APP = 'prod/lwa/apps/sp-main'
/** The SDK's default chain would otherwise read this machine's profile; the emulator skips signature checks. */
const awsEnv = {
  AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
}

const clientSecret = (): string => `amzn1.oa2-cs.v1.${randomBytes(32).toString('hex')}`
const clientId = `amzn1.application-oa2-client.${randomBytes(16).toString('hex')}`

interface Fixture {
  sm: SecretsManagerEmulator
  lwa: LwaEmulator
  /** The version id of AWSCURRENT, which holds a secret LWA accepts. */
  current: string
  /** A client secret, remembered so that no run may print it. */
  secret(accepted: boolean): string
  run(flags: string[]): Promise<Run>
}

/** An SP-API app whose AWSCURRENT LWA accepts, and a CLI run that fails the test if it prints a secret or a token. */
async function fixture(t: Test, scopes = ['sellingpartnerapi::notifications']): Promise<Fixture> {
  const sm = await SecretsManagerEmulator.start()
  t.teardown(() => sm.close())
  const lwa = await LwaEmulator.start()
  t.teardown(() => lwa.close())
  const secrets: string[] = []
  const accepted: string[] = []
  const secret = (ok: boolean): string => {
    const value = clientSecret()
    secrets.push(value)
    if (ok) accepted.push(value)
    lwa.setClientSecrets(clientId, accepted)
    return value
  }
  lwa.addClient({ clientId, clientSecret: [], scopes })
  const current = sm.putSecret(APP, {
    client_id: clientId, client_secret: secret(true), client_secret_expires_at: '2027-03-18T10:00:00Z',
  })
  const run = async (flags: string[]): Promise<Run> => {
    const res = await cli(['check-app-secret', '--secret-id', APP, '--endpoint', sm.url, '--lwa-url', lwa.tokenUrl,
      ...flags], awsEnv)
    const printed = res.stdout + res.stderr
    t.notOk(secrets.some((s) => printed.includes(s)), 'no client secret is printed')
    // LWA's access tokens start Atza| (client_credentials: Atc|).
    t.notMatch(printed, /Atza\||Atc\|/, 'nor an access token')
    return res
  }
  return { sm, lwa, current, secret, run }
}

t.test('a new client secret staged as AWSPENDING that LWA accepts: ok with its version id, exit 0', async (t) => {
  const { sm, lwa, run, secret } = await fixture(t)
  const pending = sm.putSecret(APP, { client_id: clientId, client_secret: secret(true) }, { stages: ['AWSPENDING'] })

  const res = await run(['--version-stage', 'AWSPENDING'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, `ok: ${APP} ${pending} (AWSPENDING) is accepted by LWA\n`)
  t.equal(res.stderr, '')
  t.match(sm.calls, [{ operation: 'GetSecretValue', secretId: APP, versionStage: 'AWSPENDING', status: 200 }])
  t.equal(sm.calls.length, 1, 'one GetSecretValue, nothing else')
  t.match(lwa.calls, [{ grantType: 'client_credentials', clientId, status: 200 }], 'one token request with that secret')
  t.equal(lwa.calls.length, 1)
})

t.test('--version-id reads that version; --scope is the scope asked for (a Developer Console app)', async (t) => {
  const { lwa, run, current } = await fixture(t, ['appstore::apps:readwrite'])

  const res = await run(['--version-id', current, '--scope', 'appstore::apps:readwrite'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, `ok: ${APP} ${current} (AWSCURRENT) is accepted by LWA\n`)

  // The default scope is one this app may not ask for: LWA's answer is no proof either way.
  const defaultScope = await run([])
  t.equal(defaultScope.code, 1)
  t.equal(defaultScope.stdout, '')
  t.equal(defaultScope.stderr,
    `not proven: ${APP} ${current} (AWSCURRENT): invalid_scope (HTTP 400): refused for another reason than the `
    + 'secret (may this app use --scope?)\n')
  t.equal(lwa.callCount({ error: 'invalid_scope' }), 1)
})

t.test('a client secret LWA refuses: invalid_client on stderr, exit 1, nothing on stdout', async (t) => {
  const { sm, lwa, run, secret } = await fixture(t)
  const pending = sm.putSecret(APP, { client_id: clientId, client_secret: secret(false) }, { stages: ['AWSPENDING'] })

  const res = await run(['--version-stage', 'AWSPENDING'])
  t.equal(res.code, 1)
  t.equal(res.stdout, '')
  t.equal(res.stderr, `rejected: ${APP} ${pending} (AWSPENDING): invalid_client (HTTP 401): LWA refuses this client secret\n`)
  t.equal(lwa.callCount({ error: 'invalid_client' }), 1)
})

t.test('a version that is not there, or lacks the client secret: exit 1 naming it, LWA is not asked', async (t) => {
  const { sm, lwa, run } = await fixture(t)

  const missing = await run(['--version-stage', 'AWSPENDING'])
  t.equal(missing.code, 1)
  t.equal(missing.stdout, '')
  t.equal(missing.stderr,
    `lwa-broker check-app-secret: ${APP} AWSPENDING: no such secret or version (ResourceNotFoundException)\n`)

  sm.putSecret(APP, { client_id: clientId }, { stages: ['AWSPENDING'] })
  const incomplete = await run(['--version-stage', 'AWSPENDING'])
  t.equal(incomplete.code, 1)
  t.equal(incomplete.stderr, `lwa-broker check-app-secret: ${APP} AWSPENDING lacks the field client_secret\n`)
  t.equal(lwa.calls.length, 0, 'LWA was never asked')
})

t.test('usage errors: exit 2 before any call', async (t) => {
  const { sm, lwa, run, current } = await fixture(t)

  const both = await run(['--version-stage', 'AWSPENDING', '--version-id', current])
  t.equal(both.code, 2)
  t.match(both.stderr, /^lwa-broker check-app-secret: give --version-stage or --version-id, not both \(see: /)

  // The client secret would cross the network in the clear.
  const plain = await cli(['check-app-secret', '--secret-id', APP, '--lwa-url', 'http://lwa.example/auth/o2/token'], awsEnv)
  t.equal(plain.code, 2)
  t.match(plain.stderr, /--lwa-url must be https:\/\/, or http:\/\/ to a loopback address/)
  t.equal(sm.calls.length + lwa.calls.length, 0)
})
