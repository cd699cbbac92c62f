/**
 * `npm run demo`: the whole token path on a laptop, no AWS account. Starts the LWA
 * emulator, generates a caller key, starts the broker from examples/demo/broker.yaml,
 * mints a caller JWT, performs one GET /token, and prints a curl line to try yourself.
 *
 * `npm run demo -- --aws`: the production secrets path too. The secrets go into a local
 * Secrets Manager emulator and the broker reads them with the real AWS SDK client.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { parse as parseYaml } from 'yaml'
import { createBroker } from '../../src/http/broker.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/observability/logger.js'
import { LwaEmulator } from '../../test/support/lwa-emulator.js'
import { SecretsManagerEmulator } from '../../test/support/secrets-manager-emulator.js'

const here = dirname(fileURLToPath(import.meta.url))
const configPath = join(here, 'broker.yaml')
const secrets = JSON.parse(readFileSync(join(here, 'dev-secrets.json'), 'utf8')) as Record<string, Record<string, string>>

async function startEmulator(): Promise<LwaEmulator> {
  const lwa = await LwaEmulator.start()
  const sp = secrets['demo/lwa/apps/sp-main']!
  const ads = secrets['demo/lwa/ads-us']!
  lwa.addClient({ clientId: ads.client_id!, clientSecret: ads.client_secret! })
  lwa.addClient({ clientId: sp.client_id!, clientSecret: sp.client_secret! })
  lwa.addRefreshToken({ refreshToken: ads.refresh_token!, clientId: ads.client_id! })
  lwa.addRefreshToken({ refreshToken: secrets['demo/lwa/sellers/acme']!.refresh_token!, clientId: sp.client_id! })
  return lwa
}

/** A Secrets Manager emulator holding the demo secrets; the SDK's default chain finds the dummy keys in the env. */
async function startSecretsManager(): Promise<SecretsManagerEmulator> {
  const sm = await SecretsManagerEmulator.start()
  for (const [id, value] of Object.entries(secrets)) sm.putSecret(id, value)
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDDEMO'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'demo'
  return sm
}

async function main(): Promise<void> {
  const useAws = process.argv.includes('--aws')
  const lwa = await startEmulator()
  const sm = useAws ? await startSecretsManager() : undefined
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  mkdirSync(join(here, '.keys'), { recursive: true })
  writeFileSync(join(here, '.keys/jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'demo-1', alg: 'ES256', use: 'sig' }] }))

  const raw = parseYaml(readFileSync(configPath, 'utf8')) as { lwa: { endpoints: Record<string, string> }; secrets: unknown }
  raw.lwa.endpoints = { na: lwa.tokenUrl, eu: lwa.tokenUrl, fe: lwa.tokenUrl }
  if (sm) raw.secrets = { backend: 'aws', region: 'us-east-1', endpoint: sm.url, refreshSeconds: 300 }
  const config = parseConfig(raw, configPath, process.env)
  const broker = await createBroker(config, { logger: createLogger(config.logLevel) })
  const { app: base, ops } = await broker.listen()
  // What /readyz waits for: every secret read once, the issuer's keys loaded.
  await broker.services.readiness.current()

  const jwt = await new SignJWT({ sub: 'demo-reporter' })
    .setProtectedHeader({ alg: 'ES256', kid: 'demo-1', typ: 'JWT' })
    .setIssuer('https://demo.lwa-broker.local').setAudience('lwa-broker')
    .setIssuedAt().setExpirationTime('1h')
    .sign(privateKey)
  const res = await fetch(`${base}/token?credential=ads-us`, { headers: { authorization: `Bearer ${jwt}` } })
  const body = await res.json() as Record<string, unknown>

  const print = (s = ''): boolean => process.stdout.write(s + '\n')
  print(`\nLWA emulator: ${lwa.tokenUrl}   broker: ${base}   metrics and health: ${ops}/metrics`)
  print(sm ? `secrets: AWS Secrets Manager emulator at ${sm.url}, read with the real AWS SDK (GetSecretValue calls: ${sm.callCount({ operation: 'GetSecretValue' })})` : `secrets: ${config.secrets.path} (file backend)`)
  print(`\nGET /token?credential=ads-us -> HTTP ${res.status} (LWA calls so far: ${lwa.callCount()})`)
  print(JSON.stringify(body, null, 2))
  print('\nTry it yourself (the JWT is valid for one hour; a second call is served from the cache):')
  print(`curl -s -H 'Authorization: Bearer ${jwt}' '${base}/token?credential=sp-acme-eu'`)
  print('\nPress Ctrl-C to stop.')

  const stop = async (): Promise<void> => {
    await broker.close()
    await lwa.close()
    await sm?.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
  if (process.argv.includes('--once')) await stop()
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
