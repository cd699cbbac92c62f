import { setMaxListeners } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createBroker, type Broker } from '../../src/http/broker.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/observability/logger.js'
import { baseConfig, baseSecrets, callerKeys, fixtures, mintJwt, seedEmulator, type CallerKeys, type MintOptions } from '../../test/helper.js'
import { LwaEmulator } from '../../test/support/lwa-emulator.js'

/**
 * The broker's world for a benchmark, built from the test suite's own fixtures
 * (test/helper.ts): the LWA emulator on loopback seeded like the tests, the base config and
 * secrets, the same caller keys and JWT minting. Benchmarks add generated credentials.
 */
export interface World {
  lwa: LwaEmulator
  keys: CallerKeys
  dir: string
  secretsPath: string
  configPath: string
  /** Raw (unparsed) config: benchmarks change it, then parseConfig validates it like the file would be. */
  config: Record<string, unknown>
  secrets: Record<string, unknown>
  /** Writes `secrets` to `secretsPath` (the file backend reads it). */
  writeSecrets(): void
  jwt(options?: MintOptions): Promise<string>
  close(): Promise<void>
}

export interface WorldOptions {
  lwaLatencyMs?: number
  expiresInSeconds?: number
  /** Production-like settings benchmarks share: no background timer unless asked, limits that do not trip. */
  rateLimitMax?: number
}

// The LWA emulator hangs each delayed answer on one AbortSignal; hundreds wait at once here.
setMaxListeners(100_000)

let keysOnce: Promise<CallerKeys> | undefined
export const benchKeys = (): Promise<CallerKeys> => (keysOnce ??= callerKeys())

export async function world(options: WorldOptions = {}): Promise<World> {
  const keys = await benchKeys()
  const lwa = await LwaEmulator.start({ latencyMs: options.lwaLatencyMs ?? 0, expiresInSeconds: options.expiresInSeconds ?? 3600 })
  seedEmulator(lwa)
  const dir = mkdtempSync(join(tmpdir(), 'lwa-broker-bench-'))
  const secretsPath = join(dir, 'secrets.json')
  const config = baseConfig(lwa, secretsPath, keys.jwks)
  const max = options.rateLimitMax ?? 1_000_000_000
  // Every benchmark caller comes from one loopback address; in production they come from their
  // pods' own, so the per-address budget of signature checks must not be what is measured.
  config.rateLimit = { max, unauthenticatedMax: max, verificationsPerAddress: max, timeWindowSeconds: 60 }
  // Audit events go where production sends them by default: stdout (a pipe the parent drains).
  config.audit = { destination: 'stdout' }
  config.logLevel = 'info'
  // Benchmarks close brokers at once; the drain pause is for Kubernetes.
  config.shutdown = { drainSeconds: 0, graceSeconds: 1 }
  const secrets = baseSecrets()
  const w: World = {
    lwa, keys, dir, secretsPath, config, secrets,
    configPath: join(dir, 'broker.yaml'),
    writeSecrets: () => writeFileSync(secretsPath, JSON.stringify(secrets)),
    jwt: (mint) => mintJwt(keys, { lifetimeSeconds: 3600, ...mint }),
    async close() {
      await lwa.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  w.writeSecrets()
  return w
}

/** Credential names, secret ids and LWA clients for generated credentials. */
export interface GeneratedCredentials {
  names: string[]
}

/**
 * Adds `count` Ads credentials, each with its own LWA client and a secret holding all three
 * fields, so LWA and Secrets Manager calls can be counted per credential (by client id / secret id).
 */
export function addOwnClientCredentials(w: World, count: number, prefix = 'ads-bench'): GeneratedCredentials {
  const credentials = w.config.credentials as Record<string, unknown>
  const names: string[] = []
  for (let i = 0; i < count; i++) {
    const id = String(i).padStart(5, '0')
    const name = `${prefix}-${id}`
    const clientId = `amzn1.application-oa2-client.bench${id}`
    const refreshToken = `Atzr|IwEBIBench-refresh-${id}`
    w.lwa.addClient({ clientId, clientSecret: `amzn1.oa2-cs.v1.bench-${id}` })
    w.lwa.addRefreshToken({ refreshToken, clientId })
    w.secrets[`bench/${name}`] = { client_id: clientId, client_secret: `amzn1.oa2-cs.v1.bench-${id}`, refresh_token: refreshToken }
    credentials[name] = { api: 'ads', region: 'na', secret: `bench/${name}`, profileId: String(1_000_000 + i) }
    names.push(name)
  }
  w.writeSecrets()
  return { names }
}

/**
 * Adds `count` SP-API seller credentials sharing one LWA app (the usual shape at scale: one
 * app, a refresh token per seller), grouped in `teams` whose callers may use only their own.
 * Caller i belongs to team i % teams and is granted its sellers by one policy rule per team.
 */
export function addSellerCredentials(
  w: World, count: number, teams: number,
): { names: string[]; subjects: string[]; refreshTokens: string[] } {
  const credentials = w.config.credentials as Record<string, unknown>
  const policy = w.config.policy as unknown[]
  const names: string[] = []
  const subjects: string[] = []
  const refreshTokens: string[] = []
  for (let t = 0; t < teams; t++) {
    const team = String(t).padStart(3, '0')
    policy.push({ subject: `system:serviceaccount:team-${team}:*`, credentials: [`seller-${team}-*`] })
  }
  for (let i = 0; i < count; i++) {
    const id = String(i).padStart(5, '0')
    const team = String(i % teams).padStart(3, '0')
    const name = `seller-${team}-${id}`
    const refreshToken = `Atzr|IwEBISeller-refresh-${id}`
    w.lwa.addRefreshToken({ refreshToken, clientId: fixtures.spClient.clientId })
    w.secrets[`lwa/sellers/${id}`] = { refresh_token: refreshToken }
    credentials[name] = { api: 'sp-api', region: 'na', app: 'lwa/apps/sp', secret: `lwa/sellers/${id}` }
    names.push(name)
    subjects.push(`system:serviceaccount:team-${team}:caller-${id}`)
    refreshTokens.push(refreshToken)
  }
  w.writeSecrets()
  return { names, subjects, refreshTokens }
}

/** Mints many JWTs a few at a time (signing runs on the thread pool; all at once only queues). */
export async function mintMany(count: number, mint: (i: number) => Promise<string>, parallel = 16): Promise<string[]> {
  const out = new Array<string>(count)
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++
      out[i] = await mint(i)
    }
  }))
  return out
}

/** The broker in this process, wired by createBroker exactly as main.ts does, logging into /dev/null. */
export async function inProcessBroker(w: World): Promise<Broker> {
  const config = parseConfig(w.config, w.configPath)
  const logger = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: false }))
  const broker = await createBroker(config, { logger })
  await broker.app.ready()
  return broker
}
