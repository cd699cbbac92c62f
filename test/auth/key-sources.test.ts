import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import type { IssuerConfig } from '../../src/config/index.js'
import { audience, build, type Harness } from '../helper.js'
import { discoveryPath, JwksServer, keysPath, newSigningKey, type JwksFault, type JwksServerOptions, type SigningKey } from '../support/jwks-server.js'

type Test = Parameters<typeof build>[0]

/** The broker re-checks a JWKS file's mtime at most once per second of real time. */
const fileRecheckWaitMs = 1100
/** Short enough to wait out in a test, long enough that back-to-back requests fall inside it. */
const cooldownMs = 500
const clusterIssuer = 'https://kubernetes.default.svc.cluster.local'

/** Scratch files shared by the tests in this file (certificates, JWKS files, token files). */
let scratch: string
let tls: { cert: string; key: string; caFile: string }

/** A self-signed CA and a server certificate for 127.0.0.1 it signed, made with the openssl CLI. */
function makeCertificates(dir: string): typeof tls {
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', '/CN=test cluster CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=kube-apiserver')
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n')
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '1', '-extfile', file('server.ext'))
  return { cert: readFileSync(file('server.crt'), 'utf8'), key: readFileSync(file('server.key'), 'utf8'), caFile: file('ca.crt') }
}

/** A token of `iss` in the projected-token layout; a fresh jti, so no two are alike (and none is served from the verified-token cache). */
function claims(h: Harness, iss: string): JWTPayload {
  const now = Math.floor(h.clock.now() / 1000)
  return { iss, aud: [audience], sub: 'system:serviceaccount:ads:reporter', iat: now, nbf: now, exp: now + 600, jti: randomUUID(), 'kubernetes.io': { namespace: 'ads' } }
}

const signWith = (key: SigningKey, payload: JWTPayload): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey)

interface Outcome { status: number; error: unknown; message: unknown; retryAfter: unknown; reason: unknown; detail: unknown }

/** What the caller saw, and what the broker logged about it. */
async function attempt(h: Harness, jwt: string): Promise<Outcome> {
  const res = await h.getToken('ads-us', jwt)
  const logged = h.logs.find((r) => r.requestId === undefined && r.reqId === res.headers['x-request-id'] && typeof r.reason === 'string')[0]
  return { status: res.statusCode, error: res.json().error, message: res.json().message, retryAfter: res.headers['retry-after'], reason: logged?.reason, detail: logged?.detail }
}

interface RemoteBroker {
  h: Harness
  server: JwksServer
  /** A fresh token of the configured issuer, signed by `key` (default: the server's newest). */
  token(key?: SigningKey): Promise<string>
  attempt(key?: SigningKey): Promise<Outcome>
}

/** A broker whose only issuer takes its keys from a JWKS server on loopback. */
async function remoteBroker(t: Test, options: { jwks: (server: JwksServer) => Record<string, unknown>; issuer?: (server: JwksServer) => string; server?: JwksServerOptions }): Promise<RemoteBroker> {
  const server = await JwksServer.start(options.server)
  t.teardown(() => server.close())
  const issuer = options.issuer?.(server) ?? server.url
  const h = await build(t, {
    config: (base) => ({ ...base, issuers: [{ issuer, audiences: [audience], algorithms: ['RS256', 'ES256'], jwks: options.jwks(server) }] }),
  })
  const token = (key = server.currentKey): Promise<string> => signWith(key, claims(h, issuer))
  return { h, server, token, attempt: async (key) => attempt(h, await token(key)) }
}

/** Keys out of reach: the caller is not at fault, so 503 with Retry-After, never 401 or 500. */
function assertKeysUnavailable(t: Test, res: Outcome, name: string, detail?: RegExp): void {
  t.equal(res.status, 503, `${name}: 503`)
  t.equal(res.error, 'upstream_unavailable', name)
  t.equal(res.message, 'the keys to verify this token cannot be fetched right now', `${name}: the caller is told nothing about the issuer`)
  t.equal(res.retryAfter, '5', `${name}: Retry-After`)
  t.equal(res.reason, 'keys_unavailable', `${name}: the log says why`)
  if (detail) t.match(res.detail, detail, `${name}: the log has the detail`)
}

t.before(() => {
  scratch = t.testdir({})
  tls = makeCertificates(scratch)
})

t.test('JWKS file: a key added is used and a key removed is refused, without a restart; a broken file keeps the last good keys', async (t) => {
  const file = join(scratch, 'rotating-jwks.json')
  const [a, b] = [await newSigningKey('RS256'), await newSigningKey('ES256')] as [SigningKey, SigningKey]
  let mtime = Math.floor(Date.now() / 1000)
  const publish = async (content: string): Promise<void> => {
    writeFileSync(file, content)
    mtime += 10 // a rewrite inside the same mtime tick must still count as a change
    utimesSync(file, mtime, mtime)
    await sleep(fileRecheckWaitMs)
  }
  writeFileSync(file, JSON.stringify({ keys: [a.publicJwk] }))
  const h = await build(t, { config: (base) => ({ ...base, issuers: [{ issuer: 'https://files.test.example', audiences: [audience], algorithms: ['RS256', 'ES256'], jwks: { file } }] }) })
  const use = async (key: SigningKey): Promise<Outcome> => attempt(h, await signWith(key, claims(h, 'https://files.test.example')))

  t.equal((await use(a)).status, 200, 'the key in the file verifies')
  await publish(JSON.stringify({ keys: [a.publicJwk, b.publicJwk] }))
  t.equal((await use(b)).status, 200, 'a key added to the file is picked up')
  await publish('{"keys": [ half-written')
  t.equal((await use(a)).status, 200, 'a broken rewrite keeps the last good keys (a)')
  t.equal((await use(b)).status, 200, 'a broken rewrite keeps the last good keys (b)')
  await publish(JSON.stringify({ keys: [b.publicJwk] }))
  const removed = await use(a)
  t.equal(removed.status, 401, 'a key removed from the file is refused')
  t.equal(removed.reason, 'ERR_JWKS_NO_MATCHING_KEY')
  t.equal((await use(b)).status, 200, 'the remaining key still verifies')
})

// A private JWK passes jose's shape check and fails only when a token needs it: then every
// caller gets 503 "keys cannot be fetched" while /readyz says the issuer is ok.
t.test('a JWKS file or inline JWKS holding a private key is refused at start-up or by the readiness check, naming the issuer', async (t) => {
  const { Authenticator } = await import('../../src/auth/index.js')
  const { FakeClock } = await import('../support/fake-clock.js')
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'rsa-1', alg: 'RS256', kty: 'RSA' }
  const file = join(scratch, 'private-jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [privateJwk] }))
  const issuer = { issuer: 'https://private.test.example', audiences: [audience], algorithms: ['RS256' as const], clockToleranceSeconds: 5, requiredClaims: [], requireJti: false }
  const remote = { timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 60_000 }
  const sources: Array<[string, IssuerConfig['jwks']]> = [['inline', { ...remote, keys: [privateJwk] }], ['file', { ...remote, file }]]
  for (const [name, jwks] of sources) {
    const refusal = await (async () => {
      try {
        await new Authenticator([{ ...issuer, jwks }], { clock: new FakeClock(), cache: { maxEntries: 10, maxAgeMs: 60_000 }, claims: new Set<string>() }).warm()
        return undefined
      } catch (err) {
        return err
      }
    })()
    t.match(refusal, { message: /issuer https:\/\/private\.test\.example.*(private|public)/ }, `${name}: refused, naming the issuer`)
  }
})

t.test('JWKS URL: tokens verify against keys fetched once, however many callers arrive together', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri }) })
  const first = await Promise.all(Array.from({ length: 10 }, () => attempt()))
  t.same(first.map((r) => r.status), Array(10).fill(200), '10 concurrent first callers')
  t.equal((await attempt()).status, 200, 'a later token')
  t.equal(server.requests(keysPath), 1, 'the JWKS was fetched once')
})

t.test('JWKS URL rotation: a new kid costs one refetch; unknown kids inside the cooldown fetch nothing; the retired key is refused', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri, cooldownMs }) })
  // Generated now: key generation inside the cooldown window would eat into it.
  const [stranger, otherStranger] = [await newSigningKey(), await newSigningKey()]
  const retired = server.currentKey
  t.equal((await attempt(retired)).status, 200)
  t.equal(server.requests(keysPath), 1)

  const next = await server.rotate()
  await sleep(cooldownMs + 100)
  t.equal((await attempt(next)).status, 200, 'the new kid is accepted')
  t.equal(server.requests(keysPath), 2, 'after exactly one refetch')

  for (const [name, key] of [['an unknown kid', stranger], ['another unknown kid', otherStranger], ['the retired kid', retired]] as const) {
    const res = await attempt(key)
    t.equal(res.status, 401, `${name} inside the cooldown: 401`)
    t.equal(res.reason, 'ERR_JWKS_NO_MATCHING_KEY', name)
  }
  t.equal(server.requests(keysPath), 2, 'no refetch inside the cooldown')

  await sleep(cooldownMs + 100)
  t.equal((await attempt(stranger)).status, 401, 'an unknown kid after the cooldown')
  t.equal(server.requests(keysPath), 3, 'refetches once more')
})

t.test('JWKS URL: a key the server stops publishing is refused once the cached set reaches cacheMaxAgeMs', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri, cacheMaxAgeMs: 1000, cooldownMs: 60_000 }) })
  const retired = server.currentKey
  t.equal((await attempt(retired)).status, 200)
  await server.addKey()
  server.removeKey(retired.kid)
  await sleep(1100)
  const res = await attempt(retired)
  t.equal(res.status, 401, 'the removed key is refused')
  t.equal(res.reason, 'ERR_JWKS_NO_MATCHING_KEY')
  t.equal(server.requests(keysPath), 2, 'after one refetch, although the cooldown has not passed')
})

t.test('OIDC discovery: the document, then the keys it names', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: () => ({ discovery: true }) })
  const first = await Promise.all(Array.from({ length: 10 }, () => attempt()))
  t.same(first.map((r) => r.status), Array(10).fill(200), '10 concurrent first callers')
  t.equal((await attempt()).status, 200, 'a later token')
  t.same([server.requests(discoveryPath), server.requests(keysPath)], [1, 1], 'one discovery, one JWKS fetch')
})

t.test('OIDC discovery: a token naming an issuer not in config fetches nothing, even from the configured issuer\'s host', async (t) => {
  const { h, server } = await remoteBroker(t, { jwks: () => ({ discovery: true }) })
  for (const iss of [`${server.url}/tenant-b`, `${server.url}/`, server.url.replace('127.0.0.1', 'localhost')]) {
    const res = await attempt(h, await server.sign(claims(h, iss)))
    t.equal(res.status, 401, iss)
    t.equal(res.reason, 'unknown_issuer', iss)
  }
  t.equal(server.requests(), 0, 'no request reached the server')
})

t.test('OIDC discovery documents that are refused: 503, and the keys are never fetched', async (t) => {
  const cases: Array<[string, (server: JwksServer) => void, RegExp]> = [
    ['the document names another issuer', (s) => { s.issuer = 'https://accounts.example.com' }, /names another issuer/],
    ['the document names the issuer with a trailing slash', (s) => { s.issuer = `${s.url}/` }, /names another issuer/],
    ['jwks_uri is not http(s)', (s) => { s.jwksUri = 'file:///etc/passwd' }, /no usable jwks_uri/],
  ]
  for (const [name, spoil, detail] of cases) {
    await t.test(name, async (t) => {
      const { server, attempt } = await remoteBroker(t, { jwks: () => ({ discovery: true }) })
      spoil(server)
      assertKeysUnavailable(t, await attempt(), name, detail)
      t.equal(server.requests(keysPath), 0, 'no JWKS fetch')
    })
  }
})

t.test('OIDC discovery failure: refused during the cooldown without asking again, then recovered', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: () => ({ discovery: true, cooldownMs }) })
  server.fail(discoveryPath, { kind: 'status', status: 500 })
  assertKeysUnavailable(t, await attempt(), 'discovery answers 500', /HTTP 500/)
  server.heal()
  assertKeysUnavailable(t, await attempt(), 'healed, but inside the cooldown', /cooling down/)
  t.equal(server.requests(discoveryPath), 1, 'discovery was not asked again inside the cooldown')
  await sleep(cooldownMs + 100)
  t.equal((await attempt()).status, 200, 'after the cooldown the token verifies')
  t.same([server.requests(discoveryPath), server.requests(keysPath)], [2, 1])
})

t.test('key documents that are too big, too slow, failing or not JSON: 503 upstream_unavailable, never 401 or 500', async (t) => {
  const mib = 1024 * 1024
  const cases: Array<[string, Record<string, unknown>, string, JwksFault, RegExp]> = [
    ['a JWKS of 1 MiB', { uri: true }, keysPath, { kind: 'oversized', bytes: mib }, /more than 262144 bytes/],
    ['a JWKS just over 256 KiB', { uri: true }, keysPath, { kind: 'oversized', bytes: 256 * 1024 }, /more than 262144 bytes/],
    ['a discovery document of 1 MiB', { discovery: true }, discoveryPath, { kind: 'oversized', bytes: mib }, /more than 262144 bytes/],
    ['a JWKS slower than timeoutMs', { uri: true, timeoutMs: 200 }, keysPath, { kind: 'slow', ms: 3000 }, /: TimeoutError$/],
    ['a discovery document slower than timeoutMs', { discovery: true, timeoutMs: 200 }, discoveryPath, { kind: 'slow', ms: 3000 }, /: TimeoutError$/],
    ['a JWKS answering 500', { uri: true }, keysPath, { kind: 'status', status: 500 }, /HTTP 500/],
    ['a JWKS answering 302 (redirects are not followed)', { uri: true }, keysPath, { kind: 'status', status: 302 }, /HTTP 302/],
    ['a JWKS that is not JSON', { uri: true }, keysPath, { kind: 'non-json' }, /did not answer JSON/],
    ['a discovery document that is not JSON', { discovery: true }, discoveryPath, { kind: 'non-json' }, /did not answer JSON/],
  ]
  for (const [name, source, path, fault, detail] of cases) {
    await t.test(name, async (t) => {
      const { uri, ...jwks } = source
      const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ ...jwks, ...(uri ? { uri: s.jwksUri } : {}) }) })
      server.fail(path, fault)
      const started = Date.now()
      assertKeysUnavailable(t, await attempt(), name, detail)
      t.ok(Date.now() - started < 2000, 'answered without waiting for the slow peer')
    })
  }
})

t.test('a JWKS just under the 256 KiB cap is accepted', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri }) })
  server.fail(keysPath, { kind: 'oversized', bytes: 250 * 1024 })
  t.equal((await attempt()).status, 200)
})

t.test('JWKS URL: a failed fetch is remembered for the cooldown, so callers cannot make the broker hammer a key endpoint that is down', async (t) => {
  const { server, attempt } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri, cooldownMs: 400 }) })
  server.fail(keysPath, { kind: 'status', status: 500 })
  assertKeysUnavailable(t, await attempt(), 'JWKS answers 500')
  server.heal()
  assertKeysUnavailable(t, await attempt(), 'inside the cooldown')
  t.equal(server.requests(keysPath), 1, 'no second fetch inside the cooldown')
  await new Promise((resolve) => setTimeout(resolve, 450))
  t.equal((await attempt()).status, 200, 'after the cooldown the next request fetches again and succeeds')
  t.equal(server.requests(keysPath), 2)
})

t.test('Kubernetes API server over HTTPS: the cluster CA is trusted and the bearer token is re-read from tokenFile on every fetch', async (t) => {
  const tokenFile = join(scratch, 'kube-token')
  writeFileSync(tokenFile, 'kube-token-one\n')
  const { server, attempt } = await remoteBroker(t, {
    server: { tls, bearerToken: 'kube-token-one' },
    issuer: () => clusterIssuer,
    jwks: (s) => ({ kubernetes: { apiServer: s.url, caFile: tls.caFile, tokenFile }, cooldownMs: 0 }),
  })
  t.match(server.url, /^https:\/\/127\.0\.0\.1:/)
  t.equal((await attempt()).status, 200, 'a token verifies with keys from /openid/v1/jwks')
  t.same(server.authorizations, ['Bearer kube-token-one'])

  writeFileSync(tokenFile, 'kube-token-two\n') // the kubelet rotated the broker's own token
  server.bearerToken = 'kube-token-two'
  const next = await server.rotate()
  t.equal((await attempt(next)).status, 200, 'a rotated cluster key is fetched with the new bearer token')
  t.same(server.authorizations, ['Bearer kube-token-one', 'Bearer kube-token-two'])
})

t.test('Kubernetes API server that cannot be used: 503 upstream_unavailable', async (t) => {
  const tokenFile = join(scratch, 'kube-token-refused')
  writeFileSync(tokenFile, 'not-the-token-the-api-server-wants\n')
  // The detail must let an operator tell these apart: an untrusted certificate and a missing
  // token file need different fixes.
  const cases: Array<[string, (s: JwksServer) => Record<string, unknown>, RegExp]> = [
    ['without the cluster CA the server certificate is not trusted', (s) => ({ apiServer: s.url, tokenFile }), /^cannot fetch https:.*(certificate|UNABLE_TO_VERIFY|SELF_SIGNED)/i],
    ['the API server refuses the bearer token', (s) => ({ apiServer: s.url, caFile: tls.caFile, tokenFile }), /HTTP 401$/],
    ['the token file is missing', (s) => ({ apiServer: s.url, caFile: tls.caFile, tokenFile: join(scratch, 'no-such-token') }), /^cannot fetch https:.*(ENOENT|no-such-token)/],
    ['the API server is asked over plain HTTP', (s) => ({ apiServer: s.url.replace('https:', 'http:'), caFile: tls.caFile, tokenFile }), /^cannot fetch http:.*SocketError/],
  ]
  for (const [name, kubernetes, detail] of cases) {
    await t.test(name, async (t) => {
      const { attempt } = await remoteBroker(t, {
        server: { tls, bearerToken: 'kube-token-one' },
        issuer: () => clusterIssuer,
        jwks: (s) => ({ kubernetes: kubernetes(s) }),
      })
      assertKeysUnavailable(t, await attempt(), name, detail)
    })
  }
})

t.test('/readyz says issuers: failing while a remote issuer\'s keys cannot be loaded, and ok once they can', async (t) => {
  // No cooldown, so the evaluation after healing may fetch at once.
  const { h, server } = await remoteBroker(t, { jwks: (s) => ({ uri: s.jwksUri, cooldownMs: 0 }) })
  server.fail(keysPath, { kind: 'status', status: 500 })
  for (let i = 0; i < 2; i++) {
    const res = await h.app.inject('/readyz')
    t.equal(res.statusCode, 503)
    t.same(res.json(), { status: 'not_ready', checks: { config: 'ok', issuers: 'failing', secrets: 'ok' } })
  }
  server.heal()
  await h.services.readiness.evaluate()
  const res = await h.app.inject('/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { config: 'ok', issuers: 'ok', secrets: 'ok' } })
})

t.test('Authenticator.warm() names the issuer whose keys cannot be had', async (t) => {
  const { Authenticator } = await import('../../src/auth/index.js')
  const { FakeClock } = await import('../support/fake-clock.js')
  const server = await JwksServer.start()
  t.teardown(() => server.close())
  server.fail('*', { kind: 'status', status: 503 })
  const issuer = { issuer: server.url, audiences: [audience], algorithms: ['RS256' as const], clockToleranceSeconds: 5, requiredClaims: [], requireJti: false }
  // No cooldown: the second warm() may fetch again at once.
  const authenticator = new Authenticator([{ ...issuer, jwks: { uri: server.jwksUri, timeoutMs: 1000, cooldownMs: 0, cacheMaxAgeMs: 60_000 } }], {
    clock: new FakeClock(), cache: { maxEntries: 10, maxAgeMs: 60_000 }, claims: new Set<string>(),
  })
  await t.rejects(authenticator.warm(), { name: 'KeysUnavailableError', message: `keys of issuer ${server.url} are unavailable: ${server.jwksUri} answered HTTP 503` })
  server.heal()
  await t.resolves(authenticator.warm(), 'resolves once the keys can be fetched')
})

t.test('plain http:// is accepted for LWA, JWKS, the Kubernetes API server, Secrets Manager and publicUrl: a discovered http:// jwks_uri off loopback is refused unfetched', async (t) => {
  // 0.0.0.0 is no loopback name, yet a connection to it reaches this very server: were the
  // broker to fetch it, the JWKS server would count the request.
  const cases: Array<[string, (s: JwksServer) => string]> = [
    ['remote host', () => 'http://keys.example.test/jwks'],
    ['0.0.0.0, which reaches the JWKS server', (s) => `http://0.0.0.0:${new URL(s.url).port}${keysPath}`],
  ]
  for (const [name, jwksUri] of cases) {
    await t.test(name, async (t) => {
      const { server, attempt } = await remoteBroker(t, { jwks: () => ({ discovery: true }) })
      server.jwksUri = jwksUri(server)
      assertKeysUnavailable(t, await attempt(), name, /names a plain http:\/\/ jwks_uri on a host that is not loopback/)
      t.same([server.requests(discoveryPath), server.requests(keysPath)], [1, 0], 'the document was read, the keys were not fetched')
    })
  }
  await t.test('allowInsecureEndpoints: followed', async (t) => {
    const server = await JwksServer.start()
    t.teardown(() => server.close())
    server.jwksUri = `http://0.0.0.0:${new URL(server.url).port}${keysPath}`
    const h = await build(t, {
      config: (base) => ({ ...base, allowInsecureEndpoints: true, issuers: [{ issuer: server.url, audiences: [audience], algorithms: ['RS256'], jwks: { discovery: true } }] }),
    })
    t.equal((await attempt(h, await server.sign(claims(h, server.url)))).status, 200)
    t.equal(server.requests(keysPath), 1, 'the keys were fetched from the jwks_uri')
  })
})

t.test('a malformed JWKS file stopped start-up with a bare SyntaxError: the TypeError names the issuer and the file', async (t) => {
  const { Authenticator } = await import('../../src/auth/index.js')
  const { FakeClock } = await import('../support/fake-clock.js')
  const file = join(scratch, 'broken-jwks.json')
  writeFileSync(file, '{"keys": [ {"kty": "RSA", ')
  const issuer = { issuer: 'https://broken.test.example', audiences: [audience], algorithms: ['RS256' as const], clockToleranceSeconds: 5, requiredClaims: [], requireJti: false }
  const jwks = { file, timeoutMs: 1000, cooldownMs: 1000, cacheMaxAgeMs: 60_000 }
  t.throws(() => new Authenticator([{ ...issuer, jwks }], { clock: new FakeClock(), cache: { maxEntries: 10, maxAgeMs: 60_000 }, claims: new Set<string>() }), {
    name: 'TypeError',
    message: `issuer https://broken.test.example: cannot use JWKS file ${file}: it is not valid JSON`,
  })
})
