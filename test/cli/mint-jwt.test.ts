import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import t from 'tap'
import { cli } from '../support/run-cli.js'

/** The CLI as operators run it, through tsx from the repo root. */
t.test('--generate-key, then a JWT minted with it verifies against the written JWKS', async (t) => {
  const prefix = join(t.testdir({}), 'dev')
  const generated = await cli(['mint-jwt', '--generate-key', prefix])
  t.equal(generated.code, 0)
  t.equal(statSync(`${prefix}.key.pem`).mode & 0o777, 0o600, 'the private key is readable by its owner only')
  const jwks = JSON.parse(readFileSync(`${prefix}.jwks.json`, 'utf8'))
  t.match(jwks.keys, [{ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: String }])
  t.notOk('d' in jwks.keys[0], 'the JWKS holds the public key only')
  t.match(generated.stdout, `jwks: { file: ${prefix}.jwks.json }`, 'says how to configure the issuer')

  const minted = await cli(['mint-jwt', '--key', `${prefix}.key.pem`, '--iss', 'https://dev.example', '--sub', 'dev-tester',
    '--ttl', '120', '--claim', 'team=ads', '--claim', 'tier=3', '--claim', 'kubernetes.io={"namespace":"ads"}'])
  t.equal(minted.code, 0)
  t.equal(minted.stderr, '')
  const jwt = minted.stdout.trim()
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
    issuer: 'https://dev.example', audience: 'lwa-broker', algorithms: ['ES256'],
  })
  t.equal(protectedHeader.kid, jwks.keys[0].kid, 'the kid matches the JWKS without --kid')
  t.equal(payload.sub, 'dev-tester')
  t.ok(Math.abs((payload.exp as number) - (Date.now() / 1000 + 120)) < 10, 'exp is about now + ttl')
  t.match(payload, { team: 'ads', tier: 3, 'kubernetes.io': { namespace: 'ads' }, jti: String, iat: Number })
})

t.test('an RSA key and several audiences', async (t) => {
  const prefix = join(t.testdir({}), 'rsa')
  t.equal((await cli(['mint-jwt', '--generate-key', prefix, '--alg', 'PS256'])).code, 0)
  const jwks = JSON.parse(readFileSync(`${prefix}.jwks.json`, 'utf8'))
  const minted = await cli(['mint-jwt', '--key', `${prefix}.key.pem`, '--alg', 'PS256', '--iss', 'i', '--sub', 's', '--aud', 'a', '--aud', 'b'])
  t.equal(minted.code, 0)
  const { payload } = await jwtVerify(minted.stdout.trim(), createLocalJWKSet(jwks), { audience: 'b', algorithms: ['PS256'] })
  t.same(payload.aud, ['a', 'b'])
})

t.test('a private JWK file: its alg and kid are used', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true })
  const dir = t.testdir({})
  writeFileSync(join(dir, 'key.jwk.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'billing-1', alg: 'ES384' }))
  const minted = await cli(['mint-jwt', '--key', join(dir, 'key.jwk.json'), '--iss', 'https://billing.example', '--sub', 'billing-sync'])
  t.equal(minted.code, 0)
  t.match(decodeProtectedHeader(minted.stdout.trim()), { alg: 'ES384', kid: 'billing-1', typ: 'JWT' })
  await t.resolves(jwtVerify(minted.stdout.trim(), publicKey, { issuer: 'https://billing.example', audience: 'lwa-broker' }))
})

t.test('none and HS* are refused, with nothing signed', async (t) => {
  const prefix = join(t.testdir({}), 'dev')
  await cli(['mint-jwt', '--generate-key', prefix])
  for (const alg of ['none', 'HS256', 'hs512']) {
    const res = await cli(['mint-jwt', '--key', `${prefix}.key.pem`, '--iss', 'i', '--sub', 's', '--alg', alg])
    t.equal(res.code, 2, alg)
    t.equal(res.stdout, '')
    t.match(res.stderr, `--alg ${alg} is refused: mint-jwt signs only with asymmetric keys`)
  }
  const gen = await cli(['mint-jwt', '--generate-key', join(t.testdirName, 'hs'), '--alg', 'HS256'])
  t.equal(gen.code, 2)
  t.match(gen.stderr, 'is refused')
})

t.test('mistakes are named: wrong key kind, a public key, an existing key, a claim with its own flag', async (t) => {
  const prefix = join(t.testdir({}), 'dev')
  await cli(['mint-jwt', '--generate-key', prefix])
  const base = ['mint-jwt', '--iss', 'i', '--sub', 's']

  const mismatch = await cli([...base, '--key', `${prefix}.key.pem`, '--alg', 'RS256'])
  t.equal(mismatch.code, 1)
  t.match(mismatch.stderr, 'key.pem (ec key) cannot sign RS256')

  const publicOnly = await cli([...base, '--key', `${prefix}.jwks.json`])
  t.equal(publicOnly.code, 1)
  t.match(publicOnly.stderr, 'is not a private key')

  const missing = await cli([...base, '--key', `${prefix}.nope.pem`])
  t.equal(missing.code, 1)
  t.match(missing.stderr, 'cannot read --key')

  const again = await cli(['mint-jwt', '--generate-key', prefix])
  t.equal(again.code, 1)
  t.match(again.stderr, 'already exists; not overwriting it')

  const claim = await cli([...base, '--key', `${prefix}.key.pem`, '--claim', 'exp=1'])
  t.equal(claim.code, 2)
  t.match(claim.stderr, '--claim exp: set it with --ttl')

  const required = await cli(['mint-jwt', '--key', `${prefix}.key.pem`])
  t.equal(required.code, 2)
  t.match(required.stderr, '--key, --iss and --sub are required')
})
