import { request } from 'undici'
import { alternate, pairedRatios } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addSellerCredentials, mintMany, world, type World } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { pinLoadGenerator, startServer, type ServerHandle } from './lib/server.js'
import { round, sleep } from './lib/stats.js'
import { connections, fetchToken } from './hot-path.js'

const size = Number(process.env.BENCH_SCALE ?? 10_000)
const teams = 100
const rounds = Number(process.env.BENCH_ROUNDS_SCALE ?? 3)
const seconds = Number(process.env.BENCH_SECONDS_SCALE ?? 4)
const settleMs = 2000
/** Every one of the callers must have been verified once before the measured rounds: ~10,000 RS256 checks. */
const warmupSeconds = Number(process.env.BENCH_WARMUP_SCALE ?? 8)
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1)

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  const small = await world()
  const large: World = await world()
  const { names, subjects } = addSellerCredentials(large, size, teams)
  const servers: ServerHandle[] = []
  try {
    // The baseline: benchmark 1's broker (b), started and measured the same way in this run.
    const smallServer = await startServer({ kind: 'broker', config: small.config, configPath: small.configPath })
    servers.push(smallServer)
    const smallWarm = await smallServer.warm()
    // Caller JWTs are minted while the large broker starts.
    const jwtsPending = mintMany(size, (i) => large.jwt({ claims: { sub: subjects[i] as string } }))
    const largeServer = await startServer({ kind: 'broker', config: large.config, configPath: large.configPath, primeWith: names[0] as string })
    servers.push(largeServer)
    ctx.log(`  ${size} credentials: ready ${round(largeServer.startup.processToReadyMs)} ms after process start (small config: ${round(smallServer.startup.processToReadyMs)} ms)`)
    const lwaBeforeWarm = large.lwa.calls.length
    const largeWarm = await largeServer.warm()
    const warmLwaCalls = large.lwa.calls.length - lwaBeforeWarm
    const warmLwaFailed = large.lwa.calls.slice(lwaBeforeWarm).filter((c) => c.status !== 200).length
    ctx.log(`  prewarm: ${largeWarm.withToken}/${largeWarm.credentials} tokens in ${round(largeWarm.warmMs)} ms (small: ${round(smallWarm.warmMs)} ms)`)
    const jwts = await jwtsPending
    const smallJwt = await small.jwt()
    const check = await fetchToken(largeServer.url, jwts[0] as string, names[0] as string)
    if (check.status !== 200) throw new Error(`large broker refused caller 0: ${check.status} ${check.body}`)
    // Scraped as Prometheus scrapes a production broker: what a scrape makes and keeps is in the RSS samples.
    const scrapeBytes = await largeServer.scrape()
    const warmLarge = await largeServer.usage()
    const warmLargeGc = await largeServer.gcUsage()
    const warmSmallGc = await smallServer.gcUsage()
    // Caller i asks for credential i: 10,000 distinct callers, each its own credential.
    const largeRequests = names.map((name, i) => ({ path: `/token?credential=${name}`, headers: { authorization: `Bearer ${jwts[i] as string}` } }))
    const result = await alternate([
      { name: 'small', options: { url: smallServer.url, requests: [{ path: '/token?credential=ads-us', headers: { authorization: `Bearer ${smallJwt}` } }], server: smallServer } },
      { name: 'large', options: { url: largeServer.url, requests: largeRequests, server: largeServer } },
    ], { rounds, seconds, warmupSeconds, connections, log: ctx.log, profilePrefix: 'scale' })
    // Does the rate limiter still know caller 0 (it made requests in every large round)? Its
    // answer's x-ratelimit-remaining says how many requests it counted in the current window.
    const probe = await request(`${largeServer.url}/token?credential=${names[0] as string}`, { headers: { authorization: `Bearer ${jwts[0] as string}` } })
    await probe.body.dump()
    const remaining = Number(probe.headers['x-ratelimit-remaining'])
    const limit = Number(probe.headers['x-ratelimit-limit'])
    const countedForCaller0 = limit - remaining
    const madeByCaller0 = Math.round((result.variants.large?.rounds ?? []).reduce((acc, r) => acc + r.requests, 0) / size)
    await largeServer.scrape()
    const loadedLarge = await largeServer.usage()
    const loadedSmall = await smallServer.usage()
    await sleep(settleMs)
    const settledLarge = await largeServer.gcUsage()
    const snapshot = await largeServer.heapSnapshot('scale-large')
    if (snapshot) ctx.log(`  heap snapshot of the large broker: ${snapshot} (npx tsx bench/lib/heap-summary.ts <file>)`)
    const settledSmall = await smallServer.gcUsage()
    const a = result.variants.small
    const b = result.variants.large
    if (!a || !b) throw new Error('missing variant')
    const paired = pairedRatios(a.rounds, b.rounds, (r) => r.rps)
    const rssPeak = Math.max(largeServer.startup.rss, warmLarge.rss, warmLargeGc.rss, loadedLarge.rss, settledLarge.rss)
    const rssPeakSmall = Math.max(smallServer.startup.rss, warmSmallGc.rss, loadedSmall.rss, settledSmall.rss)
    ctx.log(`  RSS large: ready ${mb(largeServer.startup.rss)} MB, after prewarm ${mb(warmLarge.rss)} MB (heap used ${mb(warmLarge.heapUsed)} MB; after GC ${mb(warmLargeGc.heapUsed)} MB), ` +
      `after load ${mb(loadedLarge.rss)} MB (heap used ${mb(loadedLarge.heapUsed)} MB of ${mb(loadedLarge.heapTotal)} MB, external ${mb(loadedLarge.external)} MB), ` +
      `settled ${mb(settledLarge.rss)} MB (heap used ${mb(settledLarge.heapUsed)} MB of ${mb(settledLarge.heapTotal)} MB, external ${mb(settledLarge.external)} MB)`)
    ctx.log(`  /metrics of the large broker: ${mb(scrapeBytes)} MB of text`)
    ctx.log(`  RSS small: ready ${mb(smallServer.startup.rss)} MB, after load ${mb(loadedSmall.rss)} MB, settled ${mb(settledSmall.rss)} MB (heap used ${mb(settledSmall.heapUsed)} MB)`)
    return finish({
      name: 'scale',
      title: `5. Scale of state: ${size.toLocaleString('en')} credentials, ${size.toLocaleString('en')} distinct callers`,
      method: `A broker child with ${size.toLocaleString('en')} SP-API seller credentials (one shared LWA app secret, one refresh-token secret per seller, file backend) and ` +
        `${teams} policy rules (a team per rule, each granting its sellers), config generated in memory and validated by parseConfig; every token prewarmed from the LWA emulator. ` +
        `Load: ${size.toLocaleString('en')} distinct callers (distinct subjects and RS256 JWTs), caller i asking for credential i, cycled by autocannon (${connections} connections). ` +
        `Baseline in the same run: benchmark 1's broker (b) (4 credentials, 2 rules, one caller). ${rounds} rounds × ${seconds} s alternated after a ${warmupSeconds} s warm-up each (long enough for every ` +
        'caller to be verified once, so the verified-token cache is full). The children run the compiled JavaScript (tsc), as production does. /metrics is scraped (ops listener, its real route) after the prewarm and ' +
        `after the load. RSS is sampled in the child when ready, after tokens.prewarm() and a scrape, right after the load and a scrape and settled (full GC, ${settleMs / 1000} s idle); the judged figure is the highest sample. Start-up is from process start to a passing readiness check ` +
        '(every secret read, issuer keys loaded); the large broker first obtains one token, so the file secret store has read its file once (see the findings).',
      startedAt,
      machine,
      figures: [
        { key: 'rss', label: 'RSS, highest sample (ready, prewarmed, under load, settled)', value: mb(rssPeak), unit: 'MB', kind: 'count', target: { op: '<=', value: 150 } },
        { key: 'rssSettled', label: 'RSS settled after the load (GC, 2 s idle)', value: mb(settledLarge.rss), unit: `MB (small: ${mb(settledSmall.rss)} MB)`, kind: 'context' },
        { key: 'rssStages', label: 'RSS ready / prewarmed / under load', value: mb(largeServer.startup.rss), unit: `/ ${mb(warmLarge.rss)} / ${mb(loadedLarge.rss)} MB`, kind: 'context' },
        { key: 'heapState', label: 'live heap after GC, large / small', value: mb(settledLarge.heapUsed), unit: `/ ${mb(settledSmall.heapUsed)} MB`, kind: 'context' },
        { key: 'rpsRatio', label: 'GET /token req/s, large / benchmark 1 (b)', value: round(b.rps / a.rps, 3), unit: '×', kind: 'ratio', target: { op: '>=', value: 0.9 } },
        { key: 'cpuRatio', label: 'server CPU per request, (b) / large (efficiency)', value: round((a.cpuUs ?? NaN) / (b.cpuUs ?? NaN), 3), unit: '×', kind: 'ratio' },
        { key: 'cpuUs', label: 'server CPU per request, large / (b)', value: b.cpuUs ?? NaN, unit: `/ ${a.cpuUs ?? '?'} µs`, kind: 'context' },
        { key: 'p99Ratio', label: 'p99 latency, large / benchmark 1 (b)', value: round(b.p99Ms / a.p99Ms, 3), unit: '×', kind: 'ratio' },
        { key: 'startupRatio', label: 'start-up to ready, large / small config', value: round(largeServer.startup.processToReadyMs / smallServer.startup.processToReadyMs, 2), unit: '×', kind: 'ratio' },
        { key: 'startupMs', label: 'start-up to ready (process start → readiness ok)', value: round(largeServer.startup.processToReadyMs, 0), unit: `ms (small: ${round(smallServer.startup.processToReadyMs, 0)} ms)`, kind: 'context' },
        { key: 'startupParts', label: 'of which loading the broker\'s modules + build / listen / readiness check', value: round(largeServer.startup.buildMs, 0), unit: `/ ${round(largeServer.startup.listenMs, 0)} / ${round(largeServer.startup.readinessMs, 0)} ms`, kind: 'context' },
        { key: 'warmMs', label: 'prewarm of every token (LWA emulator, no latency)', value: round(largeWarm.warmMs, 0), unit: `ms for ${largeWarm.withToken} tokens`, kind: 'context' },
        { key: 'warmLwaCalls', label: 'LWA calls made by the prewarm (one per credential without a token)', value: warmLwaCalls, unit: `(${warmLwaFailed} not answered 200)`, kind: 'count', target: { op: '==', value: largeWarm.credentials - 1 } },
        { key: 'rssRatio', label: 'highest RSS sample, large / small', value: round(rssPeak / rssPeakSmall, 2), unit: '×', kind: 'ratio' },
        { key: 'rps', label: 'req/s large / small', value: b.rps, unit: `/ ${a.rps}`, kind: 'context' },
        { key: 'rpsRange', label: 'req/s ratio, spread of paired rounds', value: paired.min, unit: `…${paired.max}`, kind: 'context' },
        { key: 'rateLimitMemory', label: 'rate limiter: requests counted for caller 0 in its window (it made about ' + madeByCaller0 + ' in the measured rounds alone)', value: countedForCaller0, unit: '', kind: 'count', target: { op: '>=', value: Math.max(2, Math.floor(madeByCaller0 / 2)) } },
        { key: 'failed', label: 'non-2xx answers and errors', value: a.non2xx + a.errors + b.non2xx + b.errors, unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'tokensUncached', label: 'configured credentials without a cached token after prewarm', value: largeWarm.credentials - largeWarm.withToken, unit: `of ${largeWarm.credentials}`, kind: 'count', target: { op: '==', value: 0 } },
      ],
      notes: [`server core busy: small ${a.serverCpu}, large ${b.serverCpu}`],
      raw: { size, teams, rounds, seconds, startup: { large: largeServer.startup, small: smallServer.startup }, warm: { large: largeWarm, small: smallWarm }, memory: { large: { ready: largeServer.startup.rss, warm: warmLarge, warmGc: warmLargeGc, loaded: loadedLarge, settled: settledLarge }, small: { ready: smallServer.startup.rss, warmGc: warmSmallGc, loaded: loadedSmall, settled: settledSmall } }, variants: result.variants, paired },
    }, findings)
  } finally {
    for (const s of servers) await s.close()
    await small.close()
    await large.close()
  }
}

export const scale: Benchmark = { name: 'scale', title: 'Scale of state', run }

