import { performance } from 'node:perf_hooks'
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import { audience, issuerUrl } from '../test/helper.js'
import { alternate } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { mintMany, world } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { pinLoadGenerator, startServer, type ServerHandle } from './lib/server.js'
import { round } from './lib/stats.js'
import { connections, fetchToken } from './hot-path.js'

const callers = 1000
const rounds = Number(process.env.BENCH_ROUNDS_DISTINCT ?? 2)
const seconds = Number(process.env.BENCH_SECONDS_DISTINCT ?? 3)
const microSeconds = 1.5

type Alg = 'RS256' | 'ES256'

/**
 * jose's jwtVerify in this process, one verification at a time, with the broker's options:
 * verifications per CPU-second is verifications per second per core (WebCrypto runs the
 * signature check on libuv's pool; its CPU time is counted too).
 */
async function verifyRate(jwts: string[], jwks: { keys: JWK[] }, alg: Alg): Promise<{ perCoreSecond: number; perWallSecond: number; verifications: number }> {
  const jwk = jwks.keys.find((k) => k.alg === alg) as JWK
  const key = await importJWK(jwk, alg)
  const options = { issuer: issuerUrl, audience: [audience], algorithms: [alg], clockTolerance: 5, requiredClaims: ['iss', 'aud', 'exp', 'sub'] }
  for (let i = 0; i < 200; i++) await jwtVerify(jwts[i % jwts.length] as string, key, options)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < microSeconds * 1000) {
    for (let i = 0; i < 100; i++) await jwtVerify(jwts[(n + i) % jwts.length] as string, key, options)
    n += 100
  }
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  return { perCoreSecond: round(n / (cpuMs / 1000), 0), perWallSecond: round(n / (wallMs / 1000), 0), verifications: n }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  const w = await world()
  const subjects = Array.from({ length: callers }, (_, i) => `system:serviceaccount:ads:caller-${String(i).padStart(4, '0')}`)
  const jwts: Record<Alg, string[]> = {
    RS256: await mintMany(callers, (i) => w.jwt({ alg: 'RS256', claims: { sub: subjects[i] as string } })),
    ES256: await mintMany(callers, (i) => w.jwt({ alg: 'ES256', claims: { sub: subjects[i] as string } })),
  }
  ctx.log(`  minted ${callers} RS256 and ${callers} ES256 caller JWTs (${jwts.RS256[0]?.length} / ${jwts.ES256[0]?.length} characters)`)
  const micro = { RS256: await verifyRate(jwts.RS256, w.keys.jwks, 'RS256'), ES256: await verifyRate(jwts.ES256, w.keys.jwks, 'ES256') }
  ctx.log(`  jose jwtVerify in-process: RS256 ${micro.RS256.perCoreSecond}/s per core, ES256 ${micro.ES256.perCoreSecond}/s per core`)

  const withCache = structuredClone(w.config)
  const withoutCache = structuredClone(w.config)
  withoutCache.auth = { verifiedTokenCache: { maxEntries: 0 } }
  const servers: ServerHandle[] = []
  try {
    const cached = await startServer({ kind: 'broker', config: withCache, configPath: w.configPath })
    servers.push(cached)
    const uncached = await startServer({ kind: 'broker', config: withoutCache, configPath: w.configPath })
    servers.push(uncached)
    for (const s of servers) await s.warm()
    for (const alg of ['RS256', 'ES256'] as const) {
      const check = await fetchToken(cached.url, jwts[alg][0] as string, 'ads-us')
      if (check.status !== 200) throw new Error(`${alg} caller refused: ${check.status} ${check.body}`)
    }
    const requests = (alg: Alg) => jwts[alg].map((jwt) => ({ path: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}` } }))
    const result = await alternate([
      { name: 'RS256 cached', options: { url: cached.url, requests: requests('RS256'), server: cached } },
      { name: 'RS256 uncached', options: { url: uncached.url, requests: requests('RS256'), server: uncached } },
      { name: 'ES256 cached', options: { url: cached.url, requests: requests('ES256'), server: cached } },
      { name: 'ES256 uncached', options: { url: uncached.url, requests: requests('ES256'), server: uncached } },
    ], { rounds, seconds, warmupSeconds: 1, connections, log: ctx.log, profilePrefix: 'distinct-callers' })
    const v = result.variants
    const get = (name: string) => {
      const s = v[name]
      if (!s) throw new Error(`missing variant ${name}`)
      return s
    }
    const rsC = get('RS256 cached')
    const rsU = get('RS256 uncached')
    const esC = get('ES256 cached')
    const esU = get('ES256 uncached')
    // Without the cache every request verifies one signature: requests per server CPU-second is
    // verifications per second per core within the full request.
    const perCore = (s: typeof rsU) => round(1e6 / (s.cpuUs ?? NaN), 0)
    const failures = [rsC, rsU, esC, esU].reduce((a, s) => a + s.non2xx + s.errors, 0)
    return finish({
      name: 'distinct-callers',
      title: '2. Distinct callers: 1,000 different JWTs, with and without the verified-token cache',
      method: `${callers} callers with distinct subjects and distinct, really signed JWTs (RS256 and ES256), cycled by autocannon (${connections} connections, each connection ` +
        `a different slice of the callers) against GET /token on a warm cache; the broker with its verified-token cache (default: 10,000 entries, 60 s) and with it off ` +
        `(auth.verifiedTokenCache.maxEntries: 0, so every request verifies a signature). ${rounds} rounds × ${seconds} s per variant, alternated. ` +
        `Verifications per second per core: jose's jwtVerify in-process, sequential, counted per CPU-second (${microSeconds} s each), and, in the full request, ` +
        'uncached requests per server CPU-second.',
      startedAt,
      machine,
      figures: [
        { key: 'rs256CacheSpeedup', label: 'RS256: req/s with cache / without', value: round(rsC.rps / rsU.rps, 3), unit: '×', kind: 'ratio' },
        { key: 'es256CacheSpeedup', label: 'ES256: req/s with cache / without', value: round(esC.rps / esU.rps, 3), unit: '×', kind: 'ratio' },
        { key: 'es256VsRs256Uncached', label: 'uncached req/s, ES256 / RS256', value: round(esU.rps / rsU.rps, 3), unit: '×', kind: 'ratio' },
        { key: 'rs256CpuPerVerify', label: 'RS256: server CPU per request, uncached − cached (≈ one verification in the request)', value: round((rsU.cpuUs ?? NaN) - (rsC.cpuUs ?? NaN), 1), unit: 'µs', kind: 'context' },
        { key: 'es256CpuPerVerify', label: 'ES256: server CPU per request, uncached − cached', value: round((esU.cpuUs ?? NaN) - (esC.cpuUs ?? NaN), 1), unit: 'µs', kind: 'context' },
        { key: 'rs256VerifyPerCore', label: 'RS256 verifications/s per core (jose, in-process)', value: micro.RS256.perCoreSecond, unit: '/s', kind: 'context' },
        { key: 'es256VerifyPerCore', label: 'ES256 verifications/s per core (jose, in-process)', value: micro.ES256.perCoreSecond, unit: '/s', kind: 'context' },
        { key: 'rs256RequestPerCore', label: 'RS256 uncached requests/s per server core', value: perCore(rsU), unit: '/s', kind: 'context' },
        { key: 'es256RequestPerCore', label: 'ES256 uncached requests/s per server core', value: perCore(esU), unit: '/s', kind: 'context' },
        { key: 'rs256Rps', label: 'RS256 req/s cached / uncached', value: rsC.rps, unit: `/ ${rsU.rps}`, kind: 'context' },
        { key: 'es256Rps', label: 'ES256 req/s cached / uncached', value: esC.rps, unit: `/ ${esU.rps}`, kind: 'context' },
        { key: 'failed', label: 'non-2xx answers and errors', value: failures, unit: '', kind: 'count', target: { op: '==', value: 0 } },
      ],
      notes: [
        `server core busy: RS256 cached ${rsC.serverCpu}, uncached ${rsU.serverCpu}; ES256 cached ${esC.serverCpu}, uncached ${esU.serverCpu}`,
        `JWT header algorithms: ${decodeProtectedHeader(jwts.RS256[0] as string).alg}, ${decodeProtectedHeader(jwts.ES256[0] as string).alg}`,
      ],
      raw: { callers, rounds, seconds, micro, variants: v, order: result.order },
    }, findings)
  } finally {
    for (const s of servers) await s.close()
    await w.close()
  }
}

export const distinctCallers: Benchmark = { name: 'distinct-callers', title: 'Distinct callers', run }

