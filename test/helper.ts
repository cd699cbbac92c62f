import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { Agent } from 'undici'
import type { FastifyPluginAsync, FastifyPluginCallback } from 'fastify'
import { createBroker } from '../src/http/broker.js'
import { createSharedCache, type RedisConnection } from '../src/cache/index.js'
import { AwsSecretLister } from '../src/catalogue/aws-lister.js'
import { parseConfig, type BrokerConfig } from '../src/config/index.js'
import type { BrokerEvents } from '../src/observability/events.js'
import { createLogger } from '../src/observability/logger.js'
import { Metrics } from '../src/observability/metrics.js'
import type { Spans } from '../src/observability/spans.js'
import { AwsSecretStore, CachingSecretStore, FileSecretStore, type SecretStore } from '../src/secrets/index.js'
import type { Services } from '../src/services.js'
import { contractCheck } from './support/contract.js'
import { FakeClock } from './support/fake-clock.js'
import { LogCapture } from './support/log-capture.js'
import { LwaEmulator } from './support/lwa-emulator.js'
import { SecretsManagerEmulator } from './support/secrets-manager-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

export const issuerUrl = 'https://oidc.test.example/id/CLUSTER'
export const audience = 'lwa-broker'

/** The LWA apps, grants and secrets every test starts with. */
export const fixtures = {
  adsClient: { clientId: 'amzn1.application-oa2-client.ads0001', clientSecret: 'amzn1.oa2-cs.v1.ads-secret-0001' },
  spClient: { clientId: 'amzn1.application-oa2-client.sp0001', clientSecret: 'amzn1.oa2-cs.v1.sp-secret-0001' },
  appstoreClient: { clientId: 'amzn1.application-oa2-client.as0001', clientSecret: 'amzn1.oa2-cs.v1.as-secret-0001' },
  adsRefreshToken: 'Atzr|IwEBIAds-refresh-token-0001',
  spRefreshToken: 'Atzr|IwEBISp-refresh-token-0001',
}

export function baseConfig(lwa: LwaEmulator, secretsPath: string, jwks: { keys: JWK[] }): Record<string, unknown> {
  return {
    secrets: { backend: 'file', path: secretsPath },
    lwa: { endpoints: { na: lwa.tokenUrl, eu: lwa.tokenUrl, fe: lwa.tokenUrl }, timeoutMs: 2000 },
    issuers: [{ issuer: issuerUrl, audiences: [audience], algorithms: ['RS256', 'ES256'], jwks }],
    // Load tests would trip the production defaults; the rate-limit tests set their own.
    rateLimit: { max: 1_000_000, unauthenticatedMax: 1_000_000, verificationsPerAddress: 1_000_000 },
    // Tests drive background refreshes themselves (app.tokens.refreshDue()) on the fake clock.
    tokens: { backgroundRefreshSeconds: 0 },
    // Each scrape renders afresh: tests read counters right after the requests that move them.
    ops: { port: 0, metricsCacheSeconds: 0 },
    credentials: {
      'ads-us': { api: 'ads', region: 'na', secret: 'lwa/ads-us', profileId: '2502259796' },
      'sp-acme-eu': { api: 'sp-api', region: 'eu', app: 'lwa/apps/sp', secret: 'lwa/sellers/acme' },
      'sp-notifications': { api: 'sp-api', region: 'na', grant: 'client_credentials', scope: 'sellingpartnerapi::notifications', app: 'lwa/apps/sp' },
      'appstore-main': { api: 'appstore', region: 'na', grant: 'client_credentials', scope: 'appstore::apps:readwrite', secret: 'lwa/appstore' },
    },
    policy: [
      { subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'] },
      { subject: 'system:serviceaccount:platform:all', credentials: ['*'] },
    ],
  }
}

export function baseSecrets(): Record<string, unknown> {
  const { adsClient, spClient, appstoreClient } = fixtures
  return {
    'lwa/ads-us': { client_id: adsClient.clientId, client_secret: adsClient.clientSecret, refresh_token: fixtures.adsRefreshToken },
    'lwa/apps/sp': { client_id: spClient.clientId, client_secret: spClient.clientSecret },
    'lwa/sellers/acme': { refresh_token: fixtures.spRefreshToken },
    'lwa/appstore': { client_id: appstoreClient.clientId, client_secret: appstoreClient.clientSecret },
  }
}

export function seedEmulator(lwa: LwaEmulator): void {
  lwa.addClient(fixtures.adsClient)
  lwa.addClient(fixtures.spClient)
  lwa.addClient(fixtures.appstoreClient)
  lwa.addRefreshToken({ refreshToken: fixtures.adsRefreshToken, clientId: fixtures.adsClient.clientId })
  lwa.addRefreshToken({ refreshToken: fixtures.spRefreshToken, clientId: fixtures.spClient.clientId })
}

/** A caller's signing key and the public JWKS the broker trusts. */
export interface CallerKeys {
  rsa: CryptoKey
  ec: CryptoKey
  jwks: { keys: JWK[] }
}

export async function callerKeys(): Promise<CallerKeys> {
  const rsa = await generateKeyPair('RS256')
  const ec = await generateKeyPair('ES256')
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }
  return { rsa: rsa.privateKey, ec: ec.privateKey, jwks: { keys: [rsaJwk, ecJwk] } }
}

export interface MintOptions {
  claims?: JWTPayload
  /** Remove these claims entirely. */
  omit?: string[]
  alg?: 'RS256' | 'ES256'
  kid?: string
  key?: CryptoKey
  nowMs?: number
  lifetimeSeconds?: number
}

/** A JWT shaped like a Kubernetes projected service-account token, really signed. */
export async function mintJwt(keys: CallerKeys, options: MintOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256'
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000)
  const payload: JWTPayload = {
    iss: issuerUrl,
    aud: [audience],
    sub: 'system:serviceaccount:ads:reporter',
    iat: now,
    nbf: now,
    exp: now + (options.lifetimeSeconds ?? 600),
    'kubernetes.io': { namespace: 'ads', serviceaccount: { name: 'reporter', uid: '9e7d0c1a' }, pod: { name: 'reporter-7d9f8c6b5-x2k4q', uid: 'a1c3' } },
    ...options.claims,
  }
  for (const claim of options.omit ?? []) delete payload[claim]
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'RS256' ? 'rsa-1' : 'ec-1') })
    .sign(options.key ?? (alg === 'RS256' ? keys.rsa : keys.ec))
}

/** What an answer says of its caller's rate limit, as @fastify/rate-limit names it: limit, left, seconds to refill. */
export function limitHeaders(res: { headers: Record<string, unknown> }): [number, number, number] {
  return [Number(res.headers['x-ratelimit-limit']), Number(res.headers['x-ratelimit-remaining']), Number(res.headers['x-ratelimit-reset'])]
}

export interface Harness {
  app: FastifyInstance
  /** The ops listener's app: /metrics, /healthz, /readyz. */
  ops: FastifyInstance
  /** The core the apps are built on: tokens, status, refresher, readiness, … */
  services: Services
  lwa: LwaEmulator
  /** The Secrets Manager emulator, when built with `secretsBackend: 'aws'`. */
  sm: SecretsManagerEmulator | undefined
  secretStore: SecretStore
  clock: FakeClock
  logs: LogCapture
  keys: CallerKeys
  config: BrokerConfig
  secretsPath: string
  writeSecrets(secrets: Record<string, unknown>): void
  jwt(options?: MintOptions): Promise<string>
  getToken(credential: string, jwt: string | undefined, extraQuery?: string): Promise<LightMyRequestResponse>
}

export interface BuildOptions {
  config?: (base: Record<string, unknown>) => Record<string, unknown>
  secrets?: (base: Record<string, unknown>) => Record<string, unknown>
  /** `aws`: the real SDK client against the Secrets Manager emulator, behind the caching store. */
  secretsBackend?: 'file' | 'aws'
  /** Replaces the secret store outright (for a store that misbehaves on purpose). */
  secretStore?: SecretStore
  lwaOptions?: { expiresInSeconds?: number; latencyMs?: number }
  /** Another harness's LWA emulator (replicas of one deployment); this one neither seeds nor closes it. */
  lwa?: LwaEmulator
  /** Another harness's Secrets Manager emulator (replicas of one deployment, `secretsBackend: 'aws'`). */
  sm?: SecretsManagerEmulator
  /** Another harness's clock, so replicas agree on the time. */
  clock?: FakeClock
  /** Shares tokens, refresh locks, peer events and rate limits through this Redis (cache.backend redis). */
  redis?: { connection: RedisConnection; key: Buffer; keyPrefix?: string }
  /** Registered on both apps before any route (e.g. a check of every response). */
  plugins?: readonly FastifyPluginAsync[]
  /** Tracing as main.ts starts it: the core's spans and @fastify/otel on the caller listener. */
  tracing?: { spans: Spans; requestTracing: FastifyPluginCallback }
}

const sharedKeys = callerKeys()
const testAwsCredentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }

/** The real SDK client against the emulator; one attempt, so emulator call counts are exact. */
export function awsStore(sm: SecretsManagerEmulator, events?: BrokerEvents): AwsSecretStore {
  return new AwsSecretStore({ region: 'us-east-1', endpoint: sm.url, credentials: testAwsCredentials, maxAttempts: 1, ...(events ? { events } : {}) })
}

/** ListSecrets through the real SDK against the emulator. */
export function awsLister(sm: SecretsManagerEmulator, events?: BrokerEvents): AwsSecretLister {
  return new AwsSecretLister({ region: 'us-east-1', endpoint: sm.url, credentials: testAwsCredentials }, events)
}

/**
 * The broker with real peers: the LWA emulator on loopback, a secrets file, really signed
 * JWTs, a fake clock, and a log capture that fails the test if a token or secret leaks.
 */
export async function build(t: Test, options: BuildOptions = {}): Promise<Harness> {
  // Registered first, so peers already started are closed even when set-up throws later.
  const closers: Array<() => Promise<unknown>> = []
  const logs = new LogCapture()
  const contractProblems: string[] = []
  t.teardown(async () => {
    for (const close of closers.reverse()) await close()
    const leaks = logs.leaks()
    if (leaks.length > 0) throw new Error(`a log line contains a ${leaks.join(', ')}`)
    if (contractProblems.length > 0) throw new Error(`responses break openapi.yaml:\n${contractProblems.join('\n')}`)
  })
  const keys = await sharedKeys
  const lwa = options.lwa ?? await LwaEmulator.start(options.lwaOptions)
  if (!options.lwa) {
    closers.push(() => lwa.close())
    seedEmulator(lwa)
  }
  const dir = t.testdir({})
  const secretsPath = join(dir, 'secrets.json')
  const writeSecrets = (secrets: Record<string, unknown>): void => writeFileSync(secretsPath, JSON.stringify(secrets))
  writeSecrets((options.secrets ?? ((s) => s))(baseSecrets()))

  const sm = options.sm ?? (options.secretsBackend === 'aws' ? await SecretsManagerEmulator.start() : undefined)
  if (sm && !options.sm) {
    closers.push(() => sm.close())
    for (const [id, value] of Object.entries((options.secrets ?? ((s) => s))(baseSecrets()))) sm.putSecret(id, value as object)
  }
  const base = baseConfig(lwa, secretsPath, keys.jwks)
  if (sm) base.secrets = { backend: 'aws', region: 'us-east-1', endpoint: sm.url, refreshSeconds: 300 }
  const config = parseConfig((options.config ?? ((c) => c))(base), join(dir, 'broker.yaml'))
  for (const client of [fixtures.adsClient, fixtures.spClient, fixtures.appstoreClient]) logs.secrets.add(client.clientSecret)
  const clock = options.clock ?? new FakeClock()
  const logger = createLogger('info', logs, options.tracing?.spans)
  const metrics = new Metrics()
  const secretStore: SecretStore = options.secretStore ?? (sm
    ? new CachingSecretStore(awsStore(sm, metrics), { clock, refreshMs: config.secrets.refreshSeconds * 1000, logger, random: () => 0 })
    : new FileSecretStore(secretsPath))
  closers.push(() => secretStore.close())
  const dispatcher = new Agent({ connections: 8 })
  closers.push(() => dispatcher.close())
  const redis = options.redis
  const sharedCache = redis && createSharedCache({ connection: redis.connection, keyPrefix: redis.keyPrefix ?? 'lwa-broker:', key: redis.key, clock, logger, metrics })
  if (sharedCache) {
    closers.push(() => sharedCache.close())
    await sharedCache.ready(5000)
  }
  // The composition root production uses, with test peers: a fixed jitter source (refresh
  // points exactly at half-life, backoff at half its ceiling), the fake clock, the log capture.
  const secretLister = sm && config.catalogue ? awsLister(sm, metrics) : undefined
  if (secretLister) closers.push(async () => secretLister.close())
  const broker = await createBroker(config, {
    logger, clock, secrets: secretStore, dispatcher, random: () => 0.5, metrics, auditSink: logs,
    sqsCredentials: testAwsCredentials,
    ...(secretLister ? { secretLister } : {}),
    ...(sharedCache ? { sharedCache } : {}),
    ...(options.tracing ? { spans: options.tracing.spans } : {}),
  }, {
    plugins: [contractCheck(contractProblems), ...(options.plugins ?? [])],
    ...(options.tracing ? { requestTracing: options.tracing.requestTracing } : {}),
  })
  const { app, ops, services } = broker
  closers.push(async () => {
    await app.close()
    await ops.close()
    await services.close()
  })
  return {
    app, ops, services, lwa, sm, secretStore, clock, logs, keys, config, secretsPath, writeSecrets,
    jwt: (mint) => mintJwt(keys, { nowMs: clock.now(), ...mint }),
    getToken: (credential, jwt, extraQuery = '') => app.inject({
      method: 'GET',
      url: `/token?credential=${encodeURIComponent(credential)}${extraQuery}`,
      headers: jwt === undefined ? {} : { authorization: `Bearer ${jwt}` },
    }),
  }
}
