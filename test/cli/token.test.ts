import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { cli } from '../support/run-cli.js'
import { processFixture, startBroker } from '../support/broker-process.js'

/** The CLI as operators run it, through tsx from the repo root. */
type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

const devIssuer = 'https://dev.example'

/**
 * A real broker process whose one issuer is a key made by `mint-jwt --generate-key`, and a
 * JWT file minted for `dev-tester` (allowed ads-*) by the CLI itself.
 */
async function brokerWithDevKey(t: Test) {
  const { lwa, dir, configPath } = await processFixture(t, (c) => ({
    ...c,
    issuers: [{ issuer: devIssuer, audiences: ['lwa-broker'], algorithms: ['ES256'], jwks: { file: './dev.jwks.json' } }],
    policy: [{ subject: 'dev-tester', credentials: ['ads-*'] }],
  }))
  t.equal((await cli(['mint-jwt', '--generate-key', join(dir, 'dev')])).code, 0)
  const broker = startBroker(configPath)
  t.teardown(() => { broker.child.kill('SIGKILL') })
  const minted = await cli(['mint-jwt', '--key', join(dir, 'dev.key.pem'), '--iss', devIssuer, '--sub', 'dev-tester'])
  t.equal(minted.code, 0)
  const jwtFile = join(dir, 'jwt')
  writeFileSync(jwtFile, minted.stdout)
  return { lwa, broker, url: await broker.listening(), jwtFile, jwt: minted.stdout.trim() }
}

t.test('token through a running broker: status, expiry, header names and a fingerprint, not the token', async (t) => {
  const { lwa, broker, url, jwtFile, jwt } = await brokerWithDevKey(t)

  const res = await cli(['token', '--url', url, '--credential', 'ads-us', '--jwt-file', jwtFile, '--min-ttl', '120'])
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /^status: +200$/m)
  t.match(res.stdout, /^credential: +ads-us \(api ads, region na\)$/m)
  t.match(res.stdout, /^expires_in: +\d+ s \(at \d{4}-\d\d-\d\dT/m)
  t.match(res.stdout, /^headers: +Authorization, Amazon-Advertising-API-ClientId, Amazon-Advertising-API-Scope$/m)
  t.match(res.stdout, /^request_id: +\S+$/m)
  t.notMatch(res.stdout, 'Atza|', 'the token is not printed')
  t.notMatch(res.stdout, 'amzn1.application-oa2-client', 'header values are not printed')
  const printed = /^fingerprint: +(sha256:[0-9a-f]{16})$/m.exec(res.stdout)?.[1]
  t.ok(printed, 'a fingerprint is printed')
  await t.resolves(waitForAudit(broker, `"tokenFingerprint":"${printed}"`), 'the same fingerprint as in the audit log')

  const shown = await cli(['token', '--url', `${url}/`, '--credential', 'ads-us', '--jwt', jwt, '--show-token'])
  t.equal(shown.code, 0)
  const token = /^access_token: +(\S+)$/m.exec(shown.stdout)?.[1] ?? ''
  t.match(token, /^Atza\|/)
  t.ok(lwa.issued(token), 'with --show-token, the real token')
})

t.test('an error answer: exit 1 with the error code, message and request id', async (t) => {
  const { broker, url, jwtFile } = await brokerWithDevKey(t)

  const forbidden = await cli(['token', '--url', url, '--credential', 'sp-acme-eu', '--jwt-file', jwtFile])
  t.equal(forbidden.code, 1)
  t.equal(forbidden.stdout, '')
  t.match(forbidden.stderr, /^status: +403$/m)
  t.match(forbidden.stderr, /^error: +forbidden$/m)
  t.match(forbidden.stderr, /^message: +\S/m)
  const requestId = /^request_id: +(\S+)$/m.exec(forbidden.stderr)?.[1]
  t.ok(requestId)
  await t.resolves(waitForAudit(broker, `"requestId":"${requestId}"`), 'the request id leads to the audit event')

  const badJwt = await cli(['token', '--url', url, '--credential', 'ads-us', '--jwt', 'not-a-jwt'])
  t.equal(badJwt.code, 1)
  t.match(badJwt.stderr, /^error: +unauthenticated$/m)

  const tooLong = await cli(['token', '--url', url, '--credential', 'ads-us', '--jwt-file', jwtFile, '--min-ttl', '99999'])
  t.equal(tooLong.code, 1)
  t.match(tooLong.stderr, /^error: +invalid_request$/m)
})

t.test('a broker that is not there: exit 1 with a clear message', async (t) => {
  const port = await closedPort()
  const dir = t.testdir({ jwt: 'header.payload.signature\n' })
  const res = await cli(['token', '--url', `http://127.0.0.1:${port}`, '--credential', 'ads-us', '--jwt-file', join(dir, 'jwt')])
  t.equal(res.code, 1)
  t.equal(res.stderr, `lwa-broker token: cannot reach the broker at http://127.0.0.1:${port}/token: connection refused (is the broker running and listening there?) (ECONNREFUSED)\n`)
})

t.test('usage mistakes exit 2; an unreadable --jwt-file exits 1 naming it', async (t) => {
  const base = ['token', '--url', 'http://127.0.0.1:8787', '--credential', 'ads-us']
  t.match(await cli(base), { code: 2, stderr: /give exactly one of --jwt and --jwt-file/ })
  t.match(await cli([...base, '--jwt', 'x', '--jwt-file', 'y']), { code: 2 })
  t.match(await cli(['token', '--credential', 'ads-us', '--jwt', 'x']), { code: 2, stderr: /--url and --credential are required/ })
  t.match(await cli(['token', '--url', 'ftp://x', '--credential', 'ads-us', '--jwt', 'x']), { code: 2, stderr: /http:\/\/ or https:\/\// })
  t.match(await cli([...base, '--jwt', 'x', '--min-ttl', 'soon']), { code: 2, stderr: /--min-ttl must be a whole number/ })
  t.match(await cli([...base, '--jwt-file', '/nonexistent/jwt']), { code: 1, stderr: /cannot read --jwt-file \/nonexistent\/jwt: ENOENT/ })
})

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** The audit line is written asynchronously; wait for it briefly. */
async function waitForAudit(broker: ReturnType<typeof startBroker>, text: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!broker.output().stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`no audit line with ${text}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
