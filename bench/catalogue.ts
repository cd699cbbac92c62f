import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { tagsOf } from '../src/catalogue/tags.js'
import { fixtures } from '../test/helper.js'
import { SecretsManagerEmulator } from '../test/support/secrets-manager-emulator.js'
import { alternate, pairedRatios } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addSellerCredentials, world, type World } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { pinLoadGenerator, startServer, type ServerHandle } from './lib/server.js'
import { round, sleep } from './lib/stats.js'
import { connections, fetchToken } from './hot-path.js'

const size = Number(process.env.BENCH_CATALOGUE ?? 10_000)
const teams = 100
const intervalSeconds = 5
const listingsObserved = 3
const createSamples = 3
const rounds = Number(process.env.BENCH_ROUNDS_CATALOGUE ?? 3)
const seconds = Number(process.env.BENCH_SECONDS_CATALOGUE ?? 4)
const warmupSeconds = 2
const pageSize = 100
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1)
const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }

/**
 * The scale benchmark's sellers, declared by tags on their secrets in the Secrets Manager
 * emulator instead of in the config file: the broker discovers every one of them.
 */
function discoveredWorld(w: World, sm: SecretsManagerEmulator): { names: string[] } {
  const { names } = addSellerCredentials(w, size, teams)
  const declared = w.config.credentials as Record<string, { secret: string } & Record<string, unknown>>
  const sellerSecrets = new Set(names.map((name) => declared[name]?.secret))
  for (const [id, value] of Object.entries(w.secrets)) if (!sellerSecrets.has(id)) sm.putSecret(id, value as object)
  for (const name of names) {
    const { secret, ...fields } = declared[name] as { secret: string; api: 'sp-api'; region: 'na'; app: string }
    sm.putSecret(`lwa-broker/sellers/${name}`, w.secrets[secret] as object, { tags: tagsOf(name, fields) })
    delete declared[name]
  }
  w.config.secrets = { backend: 'aws', region: 'us-east-1', endpoint: sm.url, refreshSeconds: 300 }
  w.config.catalogue = { namePrefix: 'lwa-broker/sellers/', intervalSeconds }
  return { names }
}

/** ListSecrets calls of each complete listing after `from` (a listing starts with a call without NextToken). */
function callsPerListing(sm: SecretsManagerEmulator, from: number): number[] {
  const calls = sm.calls.slice(from).filter((c) => c.operation === 'ListSecrets')
  const listings: number[] = []
  for (const call of calls) {
    if (!call.nextToken) listings.push(0)
    if (listings.length > 0) listings[listings.length - 1] = (listings.at(-1) ?? 0) + 1
  }
  return listings.slice(0, -1) // the last may still be running
}

/** The child's CPU over one listing, idle otherwise: from the end of one listing to the end of the next. */
async function listingCost(server: ServerHandle, sm: SecretsManagerEmulator): Promise<number> {
  const lastPageAt = async (): Promise<number> => {
    const listings = (): number => sm.calls.filter((c) => c.operation === 'ListSecrets' && !c.nextToken).length
    const seen = listings()
    while (listings() === seen) await sleep(20)
    // The listing's first page has been asked for: wait for its last (no more calls for a moment).
    for (let count = sm.calls.length; ; count = sm.calls.length) {
      await sleep(300)
      if (sm.calls.length === count) return performance.now()
    }
  }
  await lastPageAt()
  const before = await server.usage()
  await lastPageAt()
  const after = await server.usage()
  return after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs
}

/** CreateSecret through the SDK, then GET /token until it answers 200: how long a new seller waits. */
async function createToServed(w: World, sm: SecretsManagerEmulator, server: ServerHandle, i: number): Promise<number> {
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: sm.url, credentials })
  const name = `seller-000-new${i}`
  const refreshToken = `Atzr|IwEBISeller-new-${i}`
  w.lwa.addRefreshToken({ refreshToken, clientId: fixtures.spClient.clientId })
  const jwt = await w.jwt({ claims: { sub: 'system:serviceaccount:team-000:newcomer' } })
  const tags = tagsOf(name, { api: 'sp-api', region: 'na', app: 'lwa/apps/sp' })
  const t0 = performance.now()
  await client.send(new CreateSecretCommand({
    Name: `lwa-broker/sellers/${name}`, SecretString: JSON.stringify({ refresh_token: refreshToken }),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  }))
  client.destroy()
  for (;;) {
    if ((await fetchToken(server.url, jwt, name)).status === 200) return performance.now() - t0
    if (performance.now() - t0 > 4 * intervalSeconds * 1000) return Number.POSITIVE_INFINITY
    await sleep(50)
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  // The broker child resolves AWS credentials from its environment, as a pod does from IRSA.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: 'us-east-1' })
  const small = await world()
  const large = await world()
  // The same sellers in the config file, no catalogue: what the hot path costs without discovery.
  const declared = await world()
  const sm = await SecretsManagerEmulator.start()
  const { names } = discoveredWorld(large, sm)
  addSellerCredentials(declared, size, teams)
  const servers: ServerHandle[] = []
  try {
    const smallServer = await startServer({ kind: 'broker', config: small.config, configPath: small.configPath })
    servers.push(smallServer)
    await smallServer.warm()
    const largeServer = await startServer({ kind: 'broker', config: large.config, configPath: large.configPath })
    servers.push(largeServer)
    const fileServer = await startServer({ kind: 'broker', config: declared.config, configPath: declared.configPath, primeWith: names[0] as string })
    servers.push(fileServer)
    ctx.log(`  ${size} discovered credentials: ready (first listing included) ${round(largeServer.startup.processToReadyMs)} ms after process start`)
    const from = sm.calls.length
    await sleep((listingsObserved + 1.2) * intervalSeconds * 1000)
    const perListing = callsPerListing(sm, from)
    ctx.log(`  ListSecrets calls per listing: ${perListing.join(', ')}`)
    const createMs: number[] = []
    for (let i = 0; i < createSamples; i++) createMs.push(await createToServed(large, sm, largeServer, i))
    ctx.log(`  CreateSecret to first 200: ${createMs.map((ms) => round(ms, 0)).join(', ')} ms (interval ${intervalSeconds} s, up to 10% sooner)`)
    const warm = await largeServer.warm()
    const warmed = await largeServer.usage()
    const warmedGc = await largeServer.gcUsage()
    ctx.log(`  prewarm: ${warm.withToken}/${warm.credentials} tokens; RSS ${mb(warmed.rss)} MB (after GC ${mb(warmedGc.rss)} MB, heap ${mb(warmedGc.heapUsed)} MB)`)
    const smallJwt = await small.jwt()
    const largeJwt = await large.jwt({ claims: { sub: 'system:serviceaccount:team-000:caller' } })
    const fileJwt = await declared.jwt({ claims: { sub: 'system:serviceaccount:team-000:caller' } })
    const check = await fetchToken(largeServer.url, largeJwt, names[0] as string)
    if (check.status !== 200) throw new Error(`discovered credential refused: ${check.status} ${check.body}`)
    const result = await alternate([
      { name: 'small', options: { url: smallServer.url, requests: [{ path: '/token?credential=ads-us', headers: { authorization: `Bearer ${smallJwt}` } }], server: smallServer } },
      { name: 'discovered', options: { url: largeServer.url, requests: [{ path: `/token?credential=${names[0] as string}`, headers: { authorization: `Bearer ${largeJwt}` } }], server: largeServer } },
      { name: 'file', options: { url: fileServer.url, requests: [{ path: `/token?credential=${names[0] as string}`, headers: { authorization: `Bearer ${fileJwt}` } }], server: fileServer } },
    ], { rounds, seconds, warmupSeconds, connections, log: ctx.log, profilePrefix: 'catalogue' })
    const listingCpu = await listingCost(largeServer, sm)
    ctx.log(`  one listing of ${size} secrets costs the broker ${round(listingCpu, 0)} ms of CPU`)
    const loaded = await largeServer.usage()
    const a = result.variants.small
    const b = result.variants.discovered
    const f = result.variants.file
    if (!a || !b || !f) throw new Error('missing variant')
    const paired = pairedRatios(f.rounds, b.rounds, (r) => r.rps)
    const rssPeak = Math.max(largeServer.startup.rss, warmed.rss, warmedGc.rss, loaded.rss)
    const maxCalls = Math.max(...perListing)
    const listingsDuringLoad = callsPerListing(sm, from).length - perListing.length
    return finish({
      name: 'catalogue',
      title: `8. Catalogue: ${size.toLocaleString('en')} credentials discovered from tagged secrets`,
      method: `The scale benchmark's ${size.toLocaleString('en')} SP-API sellers (${teams} team rules), declared by \`lwa-broker:\` tags on their grant secrets in the Secrets Manager emulator ` +
        `(the real SDK over loopback HTTP) instead of in the config file; \`catalogue.intervalSeconds\` ${intervalSeconds} (up to 10% sooner at random). ListSecrets calls are counted by the emulator ` +
        `over ${listingsObserved} listings after the broker is ready (a listing starts with a call without NextToken). A new seller: CreateSecret through the SDK, then GET /token every 50 ms ` +
        `until 200, ${createSamples} times. RSS sampled in the child when ready, after a prewarm of every token, after GC and after the load. The hot path: GET /token of one discovered ` +
        `credential on this broker (listings running throughout) against a broker with the same ${size.toLocaleString('en')} sellers and rules in its config file (no catalogue), and benchmark 1's broker (b) ` +
        `(4 credentials) for context; ${rounds} rounds × ${seconds} s alternated, ${connections} connections. The CPU of one listing is the child's CPU from the end of one listing to the end of the next, with no load.`,
      startedAt,
      machine,
      figures: [
        { key: 'listCalls', label: `ListSecrets calls per listing of ${size.toLocaleString('en')} secrets (highest of ${perListing.length})`, value: maxCalls, unit: `(target ⌈${size}/${pageSize}⌉)`, kind: 'count', target: { op: '<=', value: Math.ceil(size / pageSize) } },
        { key: 'createToServed', label: 'CreateSecret to first 200 (slowest sample)', value: round(Math.max(...createMs) / 1000, 2), unit: `s (interval ${intervalSeconds} s)`, kind: 'count', target: { op: '<=', value: intervalSeconds + 1 } },
        { key: 'rss', label: 'RSS, highest sample (ready, prewarmed, under load)', value: mb(rssPeak), unit: 'MB', kind: 'count', target: { op: '<=', value: 150 } },
        { key: 'rpsRatio', label: 'GET /token req/s, discovered credential with listings running / the same sellers in the config file', value: round(b.rps / f.rps, 3), unit: '×', kind: 'ratio', target: { op: '>=', value: 0.9 } },
        { key: 'cpuUs', label: 'server CPU per request, discovered / in the file / benchmark 1 (b)', value: b.cpuUs ?? NaN, unit: `/ ${f.cpuUs ?? '?'} / ${a.cpuUs ?? '?'} µs`, kind: 'context' },
        { key: 'rpsVsSmall', label: 'GET /token req/s, discovered / benchmark 1 (b) (4 credentials)', value: round(b.rps / a.rps, 3), unit: '×', kind: 'ratio' },
        { key: 'listingCpuMs', label: `broker CPU of one listing of ${size.toLocaleString('en')} secrets (SDK, tags, catalogue swap)`, value: round(listingCpu, 0), unit: `ms (per ${intervalSeconds} s here; per 60 s by default)`, kind: 'context' },
        { key: 'rpsRange', label: 'req/s ratio, spread of paired rounds', value: paired.min, unit: `…${paired.max}`, kind: 'context' },
        { key: 'listingsDuringLoad', label: 'listings completed while the hot path was measured', value: listingsDuringLoad, unit: '', kind: 'context' },
        { key: 'startupMs', label: 'start-up to ready, first listing included', value: round(largeServer.startup.processToReadyMs, 0), unit: `ms (small: ${round(smallServer.startup.processToReadyMs, 0)} ms)`, kind: 'context' },
        { key: 'tokens', label: 'discovered credentials with a token after prewarm', value: warm.withToken, unit: `of ${warm.credentials}`, kind: 'count', target: { op: '==', value: warm.credentials } },
        { key: 'failed', label: 'non-2xx answers and errors', value: a.non2xx + a.errors + b.non2xx + b.errors, unit: '', kind: 'count', target: { op: '==', value: 0 } },
      ],
      notes: [`server core busy: small ${a.serverCpu}, discovered ${b.serverCpu}, file ${f.serverCpu}`],
      raw: { size, perListing, createMs, memory: { ready: largeServer.startup.rss, warmed, warmedGc, loaded }, variants: result.variants, paired },
    }, findings)
  } finally {
    for (const s of servers) await s.close()
    await sm.close()
    await small.close()
    await large.close()
    await declared.close()
  }
}

export const catalogue: Benchmark = { name: 'catalogue', title: 'Catalogue discovery', run }
