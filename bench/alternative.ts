import { performance } from 'node:perf_hooks'
import { Agent, request } from 'undici'
import { fixtures } from '../test/helper.js'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { world } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { pinLoadGenerator, startServer } from './lib/server.js'
import { percentileSorted, round } from './lib/stats.js'

const lwaLatencyMs = 150
const requests = 1000
const concurrency = 50
const sequential = 20

interface Side {
  requests: number
  lwaCalls: number
  failed: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  wallMs: number
}

/** `requests` token fetches, `concurrency` at a time, each timed from request to parsed answer. */
async function drive(fetchOne: () => Promise<boolean>, lwaCalls: () => number, requests: number, concurrency: number): Promise<Side> {
  const times: number[] = []
  let failed = 0
  let next = 0
  const before = lwaCalls()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++
      const s = performance.now()
      if (!(await fetchOne())) failed++
      times.push(performance.now() - s)
    }
  }))
  const wallMs = performance.now() - t0
  times.sort((a, b) => a - b)
  return {
    requests: times.length, lwaCalls: lwaCalls() - before, failed,
    p50Ms: round(percentileSorted(times, 50)), p99Ms: round(percentileSorted(times, 99)),
    meanMs: round(times.reduce((a, b) => a + b, 0) / times.length), wallMs: round(wallMs, 1),
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  pinLoadGenerator()
  const w = await world({ lwaLatencyMs })
  const broker = await startServer({ kind: 'broker', config: w.config, configPath: w.configPath })
  const agent = new Agent({ connections: concurrency })
  try {
    await broker.warm()
    const jwt = await w.jwt()
    const lwaCalls = () => w.lwa.calls.length
    // Today: every caller asks LWA itself with the app's client secret and the refresh token.
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: fixtures.adsRefreshToken, client_id: fixtures.adsClient.clientId, client_secret: fixtures.adsClient.clientSecret }).toString()
    const direct = async (): Promise<boolean> => {
      const res = await request(w.lwa.tokenUrl, { method: 'POST', dispatcher: agent, body: form, headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' } })
      const body = await res.body.json() as { access_token?: string }
      return res.statusCode === 200 && typeof body.access_token === 'string'
    }
    const viaBroker = async (): Promise<boolean> => {
      const res = await request(`${broker.url}/token?credential=ads-us`, { dispatcher: agent, headers: { authorization: `Bearer ${jwt}` } })
      const body = await res.body.json() as { access_token?: string }
      return res.statusCode === 200 && typeof body.access_token === 'string'
    }
    // Warm-up of both paths (connections, JIT: the broker's code is not optimised yet after a few requests), then each side once.
    await drive(viaBroker, lwaCalls, 3000, concurrency)
    await drive(direct, lwaCalls, concurrency, concurrency)
    const lwaSide = await drive(direct, lwaCalls, requests, concurrency)
    ctx.log(`  each caller to LWA: p50 ${lwaSide.p50Ms} ms, p99 ${lwaSide.p99Ms} ms, ${lwaSide.lwaCalls} LWA calls, ${lwaSide.failed} failed, ${lwaSide.wallMs} ms in all`)
    const brokerSide = await drive(viaBroker, lwaCalls, requests, concurrency)
    ctx.log(`  via the broker (warm): p50 ${brokerSide.p50Ms} ms, p99 ${brokerSide.p99Ms} ms, ${brokerSide.lwaCalls} LWA calls, ${brokerSide.failed} failed, ${brokerSide.wallMs} ms in all`)
    // One caller alone: the time to token a single service sees when nothing else is going on.
    const lwaAlone = await drive(direct, lwaCalls, sequential, 1)
    const brokerAlone = await drive(viaBroker, lwaCalls, sequential, 1)
    ctx.log(`  one caller alone: direct p50 ${lwaAlone.p50Ms} ms, broker p50 ${brokerAlone.p50Ms} ms`)
    const per1000 = (s: Side) => round((s.lwaCalls / s.requests) * 1000, 1)
    return finish({
      name: 'alternative',
      title: '4. The alternative today: each caller asks LWA itself vs asking the broker',
      method: `${requests} token fetches, ${concurrency} at a time over keep-alive connections, from this process: (today) POST /auth/o2/token to the LWA emulator ` +
        `with the refresh token and client secret, the emulator answering after ${lwaLatencyMs} ms like LWA; (broker) GET /token to the broker in a child process ` +
        `with a warm cache (real JWT verification, policy, audit, rate limit). Time to token is from sending the request to the parsed answer. Then one caller alone, ${sequential} fetches in a row each way.`,
      startedAt,
      machine,
      figures: [
        { key: 'p50Ratio', label: 'time to token p50, broker / direct LWA', value: round(brokerSide.p50Ms / lwaSide.p50Ms, 4), unit: '×', kind: 'ratio' },
        { key: 'p99Ratio', label: 'time to token p99, broker / direct LWA', value: round(brokerSide.p99Ms / lwaSide.p99Ms, 4), unit: '×', kind: 'ratio' },
        { key: 'aloneP50Ratio', label: `one caller alone (${sequential} in a row): p50 broker / direct`, value: round(brokerAlone.p50Ms / lwaAlone.p50Ms, 4), unit: '×', kind: 'ratio' },
        { key: 'lwaPer1000Direct', label: 'LWA calls per 1,000 requests, direct', value: per1000(lwaSide), unit: '', kind: 'count' },
        { key: 'lwaPer1000Broker', label: 'LWA calls per 1,000 requests, broker (warm)', value: per1000(brokerSide), unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'directMs', label: 'direct: p50 / p99', value: lwaSide.p50Ms, unit: `/ ${lwaSide.p99Ms} ms`, kind: 'context' },
        { key: 'brokerMs', label: 'broker: p50 / p99', value: brokerSide.p50Ms, unit: `/ ${brokerSide.p99Ms} ms`, kind: 'context' },
        { key: 'aloneMs', label: 'one caller alone: p50 direct / broker', value: lwaAlone.p50Ms, unit: `/ ${brokerAlone.p50Ms} ms`, kind: 'context' },
        { key: 'failed', label: 'failed fetches', value: lwaSide.failed + brokerSide.failed, unit: '', kind: 'count', target: { op: '==', value: 0 } },
      ],
      notes: ['In steady state the broker makes about 2 LWA calls per credential per hour whatever the request rate (benchmark 6); the direct way makes one per request, or one per caller process per hour if every caller caches its own token.'],
      raw: { lwaLatencyMs, requests, concurrency, direct: lwaSide, broker: brokerSide, alone: { direct: lwaAlone, broker: brokerAlone } },
    }, findings)
  } finally {
    await agent.close()
    await broker.close()
    await w.close()
  }
}

export const alternative: Benchmark = { name: 'alternative', title: 'The alternative', run }

