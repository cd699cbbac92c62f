/**
 * Restricted Data Tokens (issue 17), two parts in one result:
 * (1) a stampede of callers on cold resource sets, in-process like bench/stampede.ts, counted: one
 *     Tokens API call per set, nobody failed, one RDT per set;
 * (2) a warm RDT against a warm GET /token of the same caller in the same broker process, alternated
 *     like bench/hot-path.ts: the RDT path should cost about what the access-token path costs.
 */
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { fixtures } from '../test/helper.js'
import { SpApiEmulator } from '../test/support/sp-api-emulator.js'
import { connections, fetchToken, saturation } from './hot-path.js'
import { alternate, pairedRatios, type VariantSummary } from './lib/ab.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addSellerCredentials, inProcessBroker, mintMany, world, type World } from './lib/fixture.js'
import { finish, newMachine, type BenchResult, type Figure } from './lib/results.js'
import { pinLoadGenerator, startServer } from './lib/server.js'
import { round } from './lib/stats.js'

/** How long the Tokens API takes to answer: long enough that every caller of a set arrives during its one call. */
const spLatencyMs = 150
const callers = 1000
/** M sets of one seller: within the Tokens API's burst of 10 per seller and app, so the pace refuses none. */
const ordersOfOneSeller = 8
/** The wide case: sellers × orders sets, each seller within its own burst; callersPerSet callers each. */
const sellersWide = 25
const callersPerSet = 25
const rounds = Number(process.env.BENCH_ROUNDS ?? 4)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const rdtPath = '/restricted-data-token'
const seller = 'A1BENCHSELLER'
/** The bench's callers may have restricted data of every seller credential; nobody else may. */
const rdtRule = {
  subject: 'system:serviceaccount:bench:rdt-*', credentials: ['sp-*', 'seller-*'], restrictedData: true,
}
const callerSubject = (i: number): string => `system:serviceaccount:bench:rdt-caller-${String(i).padStart(4, '0')}`
const rdtBody = (credential: string, order: string): { credential: string; restrictedResources: unknown[] } =>
  ({ credential, restrictedResources: [{ method: 'GET', path: `/orders/v0/orders/${order}/address` }] })

/** The RDT request as undici and autocannon both send it. */
interface Post { method: 'POST'; headers: Record<string, string>; body: string }

interface Ask { credential: string; order: string; jwt: string }

interface Burst {
  requests: number
  sets: number
  tokensApiCalls: number
  /** Amazon's own 429s: the broker's pace should make these impossible. */
  amazonThrottled: number
  lwaCalls: number
  ms: number
  failed: number
  /** Distinct RDTs handed out for one set (1 if every caller of the set got the same RDT). */
  maxDistinctRdtsPerSet: number
}

/** The broker's world with an SP-API emulator its sp-api credentials reach, and the RDT callers' policy rule. */
async function rdtWorld(latencyMs: number): Promise<{ w: World; sp: SpApiEmulator }> {
  const w = await world({ lwaLatencyMs: latencyMs })
  const sp = await SpApiEmulator.start({ lwa: w.lwa, latencyMs })
  sp.setSellingPartner(fixtures.spRefreshToken, seller)
  w.config.spApi = { endpoints: { na: sp.url, eu: sp.url, fe: sp.url } }
  ;(w.config.policy as unknown[]).push(rdtRule)
  return { w, sp }
}

const tokensApiCalls = (sp: SpApiEmulator, status?: number): number =>
  sp.callCount({ operation: 'createRestrictedDataToken', ...(status === undefined ? {} : { status }) })

/** Fires every request at once (each in-process through the whole route) and waits for the last answer. */
async function burst(app: FastifyInstance, w: World, sp: SpApiEmulator, asks: Ask[]): Promise<Burst> {
  const before = { calls: tokensApiCalls(sp), throttled: tokensApiCalls(sp, 429), lwa: w.lwa.calls.length }
  const t0 = performance.now()
  const answers = await Promise.all(asks.map(({ credential, order, jwt }) => app.inject({
    method: 'POST', url: rdtPath, headers: { authorization: `Bearer ${jwt}` }, payload: rdtBody(credential, order),
  })))
  const ms = performance.now() - t0
  const rdts = new Map<string, Set<string>>()
  let failed = 0
  answers.forEach((a, i) => {
    if (a.statusCode !== 200) return void failed++
    const set = `${asks[i]?.credential} ${asks[i]?.order}`
    const { restricted_data_token: minted } = a.json() as { restricted_data_token: string }
    rdts.set(set, (rdts.get(set) ?? new Set()).add(minted))
  })
  return {
    requests: asks.length, sets: new Set(asks.map((a) => `${a.credential} ${a.order}`)).size,
    tokensApiCalls: tokensApiCalls(sp) - before.calls, amazonThrottled: tokensApiCalls(sp, 429) - before.throttled,
    lwaCalls: w.lwa.calls.length - before.lwa, ms: round(ms, 1), failed,
    maxDistinctRdtsPerSet: Math.max(0, ...[...rdts.values()].map((s) => s.size)),
  }
}

/** Part 1: the callers of M cold sets of one seller, then of 25 sellers' cold sets, all at once. */
async function stampedes(ctx: BenchContext): Promise<{ one: Burst; wide: Burst }> {
  const { w, sp } = await rdtWorld(spLatencyMs)
  // 13,000 audit lines go to a file as the broker writes them (the fixture's operational log is
  // /dev/null; nothing per request is logged there at info), not onto the bench's own stdout.
  w.config.audit = { destination: join(w.dir, 'audit.log') }
  const { names, refreshTokens } = addSellerCredentials(w, sellersWide + 1, 1)
  refreshTokens.forEach((token, i) => sp.setSellingPartner(token, `A1BENCHSELLER${String(i).padStart(5, '0')}`))
  const broker = await inProcessBroker(w)
  try {
    const jwts = await mintMany(callers, (i) => w.jwt({ claims: { sub: callerSubject(i) } }))
    // Each JWT is verified once beforehand (GET /token of a seller no burst asks for): the bursts
    // measure the RDT path, cold sets and single-flight, not 1,000 signature checks.
    const warmup = names[sellersWide] as string
    await Promise.all(jwts.map((jwt) => fetchIn(broker.app, jwt, warmup)))
    const oneAsks = jwts.flatMap((jwt) =>
      Array.from({ length: ordersOfOneSeller }, (_, k) => ({ credential: 'sp-acme-eu', order: orderId(0, k), jwt })))
    const one = await burst(broker.app, w, sp, oneAsks)
    ctx.log(`  ${callers} callers × ${ordersOfOneSeller} cold sets of one seller: ${told(one)}`)
    const setsPerCaller = (sellersWide * ordersOfOneSeller * callersPerSet) / callers
    const wideAsks = jwts.flatMap((jwt, i) => Array.from({ length: setsPerCaller }, (_, j) => {
      const set = (i * setsPerCaller + j) % (sellersWide * ordersOfOneSeller)
      const s = Math.floor(set / ordersOfOneSeller)
      return { credential: names[s] as string, order: orderId(s + 1, set % ordersOfOneSeller), jwt }
    }))
    const wide = await burst(broker.app, w, sp, wideAsks)
    ctx.log(`  ${wide.sets} cold sets of ${sellersWide} sellers × ${callersPerSet} callers: ${told(wide)}`)
    return { one, wide }
  } finally {
    await broker.close()
    await sp.close()
    await w.close()
  }
}

const told = (b: Burst): string => `${b.tokensApiCalls} Tokens API calls, ${b.lwaCalls} LWA call(s), `
  + `all ${b.requests} served in ${b.ms} ms (latency ${spLatencyMs} ms), ${b.failed} failed`

/** Amazon's order id shape, one per seller s and order k. */
const orderId = (s: number, k: number): string =>
  `${String(900 + s).padStart(3, '0')}-0000000-${String(k).padStart(7, '0')}`

async function fetchIn(app: FastifyInstance, jwt: string, credential: string): Promise<void> {
  const answer = await app.inject({
    method: 'GET', url: `/token?credential=${credential}`, headers: { authorization: `Bearer ${jwt}` },
  })
  if (answer.statusCode !== 200) throw new Error(`warm-up GET /token answered ${answer.statusCode}: ${answer.body}`)
}

interface Warm {
  token: VariantSummary
  /** The GET form (one resource in the query), the judged one; `post` the same RDT through POST. */
  rdt: VariantSummary
  post: VariantSummary
  paired: { rps: ReturnType<typeof pairedRatios>; p99: ReturnType<typeof pairedRatios> }
  bytes: { token: number; rdt: number; rdtRequestBody: number }
  /** Tokens API calls while the load ran: 0 if every RDT came from the cache. */
  tokensApiCallsUnderLoad: number
}

/** The caller's first access token and RDT (the RDT is minted here): both must be 200 before any load. */
async function firstAnswers(url: string, jwt: string, post: Post) {
  const token = await fetchToken(url, jwt, 'sp-acme-eu')
  const answer = await request(`${url}${rdtPath}`, post)
  const rdt = { status: answer.statusCode, body: await answer.body.text() }
  if (token.status !== 200 || rdt.status !== 200) {
    throw new Error(`warm-up answered ${token.status} / ${rdt.status}: ${rdt.body}`)
  }
  return { token, rdt }
}

/** Part 2: one broker child, one caller, its warm access token and its warm RDT, alternated. */
async function warmAb(ctx: BenchContext): Promise<Warm> {
  pinLoadGenerator()
  const { w, sp } = await rdtWorld(0)
  const broker = await startServer({ kind: 'broker', config: w.config, configPath: w.configPath })
  try {
    await broker.warm()
    const jwt = await w.jwt({ claims: { sub: callerSubject(0) } })
    const auth = { authorization: `Bearer ${jwt}` }
    const body = JSON.stringify(rdtBody('sp-acme-eu', orderId(0, 0)))
    const post: Post = { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body }
    const { token, rdt } = await firstAnswers(broker.url, jwt, post)
    const tokenPath = '/token?credential=sp-acme-eu'
    const getPath = `${rdtPath}?credential=sp-acme-eu&method=GET&path=/orders/v0/orders/${orderId(0, 0)}/address`
    const callsBefore = tokensApiCalls(sp)
    const result = await alternate([
      { name: 'token', options: { url: broker.url, requests: [{ path: tokenPath, headers: auth }], server: broker } },
      { name: 'rdt', options: { url: broker.url, requests: [{ path: getPath, headers: auth }], server: broker } },
      { name: 'post', options: { url: broker.url, requests: [{ ...post, path: rdtPath }], server: broker } },
    ], { rounds, seconds, warmupSeconds: 2, connections, log: ctx.log, profilePrefix: 'rdt' })
    const a = result.variants.token
    const b = result.variants.rdt
    const c = result.variants.post
    if (!a || !b || !c) throw new Error('missing variant')
    return {
      token: a, rdt: b, post: c,
      paired: {
        rps: pairedRatios(a.rounds, b.rounds, (x) => x.rps), p99: pairedRatios(a.rounds, b.rounds, (x) => x.p99Ms),
      },
      bytes: {
        token: Buffer.byteLength(token.body), rdt: Buffer.byteLength(rdt.body), rdtRequestBody: Buffer.byteLength(body),
      },
      tokensApiCallsUnderLoad: tokensApiCalls(sp) - callsBefore,
    }
  } finally {
    await broker.close()
    await sp.close()
    await w.close()
  }
}

const count = (key: string, label: string, value: number, target: number): Figure =>
  ({ key, label, value, unit: '', kind: 'count', target: { op: '==', value: target } })
const ratio = (key: string, label: string, value: number, atLeast?: number): Figure =>
  ({
    key, label, value: round(value, 3), unit: '×', kind: 'ratio',
    ...(atLeast ? { target: { op: '>=', value: atLeast } } : {}),
  })
const context = (key: string, label: string, value: number, unit: string): Figure =>
  ({ key, label, value, unit, kind: 'context' })

function stampedeFigures({ one, wide }: { one: Burst; wide: Burst }): Figure[] {
  const sets = sellersWide * ordersOfOneSeller
  return [
    count('oneSellerTokensApiCalls',
      `${callers} callers × ${ordersOfOneSeller} cold sets of one seller: Tokens API calls`,
      one.tokensApiCalls, ordersOfOneSeller),
    count('oneSellerLwaCalls', '…LWA calls (the seller\'s access token, cold too)', one.lwaCalls, 1),
    ratio('oneSellerTimeRatio', '…time until all served / Tokens API latency', one.ms / spLatencyMs),
    count('wideTokensApiCalls',
      `${sellersWide} sellers × ${ordersOfOneSeller} cold sets, ${callersPerSet} callers each: Tokens API calls`,
      wide.tokensApiCalls, sets),
    count('wideLwaCalls', '…LWA calls (each seller\'s access token)', wide.lwaCalls, sellersWide),
    ratio('wideTimeRatio', '…time until all served / Tokens API latency', wide.ms / spLatencyMs),
    count('distinctRdts', 'distinct RDTs handed out per set (max)',
      Math.max(one.maxDistinctRdtsPerSet, wide.maxDistinctRdtsPerSet), 1),
    count('amazonThrottled', 'Amazon 429s (the broker\'s pace keeps within the burst)',
      one.amazonThrottled + wide.amazonThrottled, 0),
    count('stampedeFailed', 'failed requests, both stampedes', one.failed + wide.failed, 0),
    context('stampedeMs', 'time until all served, one seller / wide', one.ms, `/ ${wide.ms} ms`),
  ]
}

function warmFigures(r: Warm): Figure[] {
  const { token: a, rdt: b, post: c } = r
  return [
    ratio('rpsRatio', 'warm req/s ratio RDT (GET form) / GET /token', b.rps / a.rps, 0.9),
    ratio('postRpsRatio', 'warm req/s ratio RDT (POST, JSON body) / GET /token', c.rps / a.rps),
    context('postCpuUs', 'server CPU per request, RDT by POST', c.cpuUs ?? NaN, 'µs'),
    context('rpsRatioRange', '…spread of paired rounds (min…max)', r.paired.rps.min, `…${r.paired.rps.max}`),
    ratio('p99Ratio', 'p99 latency ratio RDT / GET /token', b.p99Ms / a.p99Ms),
    ratio('cpuRatio', 'server CPU per request RDT / GET /token', (b.cpuUs ?? NaN) / (a.cpuUs ?? NaN)),
    context('cpuUs', 'server CPU per request, GET /token / RDT', a.cpuUs ?? NaN, `/ ${b.cpuUs ?? '?'} µs`),
    count('warmFailed', 'non-2xx answers and errors under load',
      [a, b, c].reduce((sum, v) => sum + v.non2xx + v.errors, 0), 0),
    count('tokensApiUnderLoad', 'Tokens API calls during the load (the RDT is cached)', r.tokensApiCallsUnderLoad, 0),
    context('rps', 'req/s, GET /token / RDT', a.rps, `/ ${b.rps} req/s`),
    context('p50', 'p50 / p99, GET /token', a.p50Ms, `/ ${a.p99Ms} ms`),
    context('rdtP50', 'p50 / p99, RDT', b.p50Ms, `/ ${b.p99Ms} ms`),
    context('bytes', 'response bytes, GET /token / RDT', r.bytes.token, `/ ${r.bytes.rdt} B`),
    context('serverCpu', 'server core busy, GET /token / RDT', a.serverCpu ?? NaN, `/ ${b.serverCpu ?? '?'}`),
  ]
}

/** What was measured, for BENCHMARKS.md. */
function method(rdtBodyBytes: number): string {
  return `(1) Stampede, counted: the broker in-process as createBroker wires it (audit log to a file), the SP-API and `
    + `LWA emulators answering after ${spLatencyMs} ms. ${callers} callers (distinct subjects and JWTs, each verified `
    + `once beforehand on another seller's GET /token) fire POST ${rdtPath} at once as in-process requests `
    + `(app.inject, the whole route). First every caller asks for each of ${ordersOfOneSeller} orders' addresses of `
    + `one seller (${callers * ordersOfOneSeller} requests; ${ordersOfOneSeller} sets, within the seller's burst `
    + `of 10, so the pace refuses none); then ${sellersWide} other sellers × ${ordersOfOneSeller} orders `
    + `(${sellersWide * ordersOfOneSeller} sets, each seller within its own burst), ${callersPerSet} callers per set. `
    + 'The sellers\' access tokens are cold too. (2) Warm A/B: one broker child process (compiled, its logs on a pipe '
    + 'the parent drains, as hot-path), one caller, its warm access token (GET /token) and its warm RDT for one order '
    + `by the GET form (GET ${rdtPath}?credential=…&method=GET&path=…, judged) and by POST ${rdtPath} (a `
    + `${rdtBodyBytes}-byte JSON body, context), alternated with autocannon from the parent, `
    + `${connections} connections, ${rounds} rounds × ${seconds} s after a 2 s warm-up of each; figures are medians `
    + 'of rounds, ratios RDT / GET /token. The run is invalid when the GET /token side did not keep its core '
    + '≥ 0.9 busy.'
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  const bursts = await stampedes(ctx)
  const warm = await warmAb(ctx)
  return finish({
    invalid: saturation(warm.token.serverCpu, 'the GET /token baseline'),
    name: 'rdt',
    title: '7. Restricted Data Tokens: a stampede on cold sets, and a warm RDT vs a warm GET /token',
    method: method(warm.bytes.rdtRequestBody),
    startedAt,
    machine,
    figures: [...stampedeFigures(bursts), ...warmFigures(warm)],
    notes: [`paired round ratios RDT / GET /token: req/s ${warm.paired.rps.all.join(', ')}; `
      + `p99 ${warm.paired.p99.all.join(', ')}`],
    raw: { spLatencyMs, callers, bursts, connections, rounds, seconds, warm },
  }, findings)
}

export const rdt: Benchmark = { name: 'rdt', title: 'Restricted Data Tokens', run }
