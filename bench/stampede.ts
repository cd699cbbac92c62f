import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import type { Benchmark, BenchContext } from './lib/context.js'
import { findings } from './lib/findings.js'
import { addOwnClientCredentials, inProcessBroker, mintMany, world } from './lib/fixture.js'
import { finish, newMachine, type BenchResult } from './lib/results.js'
import { round } from './lib/stats.js'

const lwaLatencyMs = 150
const callers = 1000
const credentialsWide = 100
const callersPerCredential = 50

interface Burst {
  requests: number
  lwaCalls: number
  ms: number
  failed: number
  /** Distinct access tokens handed out, per credential (1 each if every caller got the same token). */
  maxDistinctTokensPerCredential: number
}

/** Fires every request at once (each an in-process request through the whole route) and waits for the last answer. */
async function burst(app: FastifyInstance, lwaCalls: () => number, pairs: Array<{ credential: string; jwt: string }>): Promise<Burst> {
  const before = lwaCalls()
  const t0 = performance.now()
  const answers = await Promise.all(pairs.map(({ credential, jwt }) => app.inject({ method: 'GET', url: `/token?credential=${credential}`, headers: { authorization: `Bearer ${jwt}` } })))
  const ms = performance.now() - t0
  const tokens = new Map<string, Set<string>>()
  let failed = 0
  answers.forEach((a, i) => {
    if (a.statusCode !== 200) return void failed++
    const credential = pairs[i]?.credential as string
    let set = tokens.get(credential)
    if (!set) tokens.set(credential, (set = new Set()))
    set.add((a.json() as { access_token: string }).access_token)
  })
  return { requests: pairs.length, lwaCalls: lwaCalls() - before, ms: round(ms, 1), failed, maxDistinctTokensPerCredential: Math.max(0, ...[...tokens.values()].map((s) => s.size)) }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const startedAt = Date.now()
  const machine = newMachine()
  const w = await world({ lwaLatencyMs })
  const { names } = addOwnClientCredentials(w, credentialsWide + 1)
  const warmupCredential = names[credentialsWide] as string
  const wide = names.slice(0, credentialsWide)
  const broker = await inProcessBroker(w)
  try {
    const app = broker.app
    const jwts = await mintMany(callers, (i) => w.jwt({ claims: { sub: `system:serviceaccount:ads:caller-${String(i).padStart(4, '0')}` } }))
    // Each caller's JWT is verified once beforehand (on another credential), so the bursts
    // measure the token path: the cold cache and single-flight, not 1,000 signature checks.
    const lwaCalls = () => w.lwa.calls.length
    const warm = await burst(app, lwaCalls, jwts.map((jwt) => ({ credential: warmupCredential, jwt })))
    ctx.log(`  warm-up of ${callers} caller JWTs: ${warm.ms} ms, ${warm.lwaCalls} LWA call(s), ${warm.failed} failed`)

    const one = await burst(app, lwaCalls, jwts.map((jwt) => ({ credential: 'ads-us', jwt })))
    ctx.log(`  ${callers} callers, 1 cold credential: ${one.lwaCalls} LWA call(s), all served in ${one.ms} ms (LWA latency ${lwaLatencyMs} ms), ${one.failed} failed`)

    const pairs: Array<{ credential: string; jwt: string }> = []
    for (let k = 0; k < callersPerCredential; k++) {
      wide.forEach((credential, c) => pairs.push({ credential, jwt: jwts[(c * callersPerCredential + k) % callers] as string }))
    }
    const many = await burst(app, lwaCalls, pairs)
    ctx.log(`  ${credentialsWide} cold credentials × ${callersPerCredential} callers: ${many.lwaCalls} LWA calls, all served in ${many.ms} ms, ${many.failed} failed`)
    const lwaPoolConnections = 8
    return finish({
      name: 'stampede',
      title: '3. Stampede: concurrent callers on a cold cache',
      method: `The broker in-process as createBroker wires it (LWA keep-alive pool of ${lwaPoolConnections} connections), the LWA emulator answering after ${lwaLatencyMs} ms. ` +
        `All requests are fired at once as in-process requests (app.inject, the whole route: JWT, rate limit, policy, cache, audit) and the time is until the last answer. ` +
        `The ${callers} callers (distinct subjects and JWTs) were verified once beforehand on another credential, so the bursts measure the cold token path.`,
      startedAt,
      machine,
      figures: [
        { key: 'oneCredentialLwaCalls', label: `${callers} callers, 1 cold credential: LWA calls`, value: one.lwaCalls, unit: '', kind: 'count', target: { op: '==', value: 1 } },
        { key: 'oneCredentialTimeRatio', label: '…time until all served / LWA latency', value: round(one.ms / lwaLatencyMs, 2), unit: '×', kind: 'ratio' },
        { key: 'manyCredentialsLwaCalls', label: `${credentialsWide} credentials × ${callersPerCredential} callers: LWA calls`, value: many.lwaCalls, unit: '', kind: 'count', target: { op: '==', value: credentialsWide } },
        { key: 'manyCredentialsTimeRatio', label: '…time until all served / LWA latency', value: round(many.ms / lwaLatencyMs, 2), unit: '×', kind: 'ratio' },
        { key: 'manyCredentialsPoolBound', label: `…lower bound from the LWA pool: ⌈${credentialsWide}/${lwaPoolConnections}⌉ × latency`, value: Math.ceil(credentialsWide / lwaPoolConnections), unit: '×', kind: 'context' },
        { key: 'distinctTokens', label: 'distinct tokens handed out per credential (max)', value: Math.max(one.maxDistinctTokensPerCredential, many.maxDistinctTokensPerCredential), unit: '', kind: 'count', target: { op: '==', value: 1 } },
        { key: 'failed', label: 'failed requests', value: one.failed + many.failed, unit: '', kind: 'count', target: { op: '==', value: 0 } },
        { key: 'oneMs', label: 'time until all served, 1 / 100 credentials', value: one.ms, unit: `/ ${many.ms} ms`, kind: 'context' },
      ],
      notes: [],
      raw: { lwaLatencyMs, callers, warm, one, many, lwaPoolConnections },
    }, findings)
  } finally {
    await broker.close()
    await w.close()
  }
}

export const stampede: Benchmark = { name: 'stampede', title: 'Stampede', run }

