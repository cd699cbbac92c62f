import { load, type LoadOptions, type LoadResult } from './load.js'
import type { ServerHandle } from './server.js'
import { median, round } from './stats.js'

export interface Variant {
  name: string
  options: Omit<LoadOptions, 'durationSeconds' | 'connections'>
}

export interface VariantSummary {
  rounds: LoadResult[]
  rps: number
  p50Ms: number
  p99Ms: number
  serverCpu: number | undefined
  /** Median server CPU time per request, µs. */
  cpuUs: number | undefined
  non2xx: number
  errors: number
}

export interface AlternationResult {
  variants: Record<string, VariantSummary>
  order: string[]
}

/**
 * Runs the variants A/B/A/B…: a short warm-up of each, then `rounds` rounds in which each
 * variant runs once for `seconds`. Noise on a shared machine hits both sides alike; the
 * summary of each variant is the median of its rounds.
 */
export async function alternate(variants: Variant[], config: { rounds: number; seconds: number; warmupSeconds: number; connections: number; log?: (line: string) => void; profilePrefix?: string }): Promise<AlternationResult> {
  const log = config.log ?? (() => {})
  for (const v of variants) {
    await load({ ...v.options, connections: config.connections, durationSeconds: config.warmupSeconds })
  }
  // With BENCH_CPU_PROF set, each server is profiled over the measured rounds only (no start-up, no warm-up).
  const servers = [...new Set(variants.map((v) => v.options.server).filter((s): s is ServerHandle => s !== undefined))]
  for (const s of servers) await s.profileStart()
  const results: Record<string, LoadResult[]> = Object.fromEntries(variants.map((v) => [v.name, []]))
  const order: string[] = []
  for (let r = 0; r < config.rounds; r++) {
    for (const v of variants) {
      const result = await load({ ...v.options, connections: config.connections, durationSeconds: config.seconds })
      results[v.name]?.push(result)
      order.push(v.name)
      log(`  round ${r + 1} ${v.name}: ${result.rps} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, server cpu ${result.serverCpu ?? '?'} (${result.serverCpuUsPerRequest ?? '?'} µs/request, ${result.serverSystemUsPerRequest ?? '?'} in the kernel), non-2xx ${result.non2xx}, errors ${result.errors}`)
    }
  }
  for (const server of servers) {
    const names = variants.filter((v) => v.options.server === server).map((v) => v.name.replace(/\W+/g, '-'))
    const file = await server.profileStop(`${config.profilePrefix ?? 'bench'}-${names.join('+')}`)
    if (file) log(`  profile: ${file}`)
  }
  const variantsOut: Record<string, VariantSummary> = {}
  for (const v of variants) {
    const rounds = results[v.name] ?? []
    const cpus = rounds.map((x) => x.serverCpu).filter((x): x is number => x !== undefined)
    const cpuUs = rounds.map((x) => x.serverCpuUsPerRequest).filter((x): x is number => x !== undefined)
    variantsOut[v.name] = {
      rounds,
      rps: round(median(rounds.map((x) => x.rps)), 1),
      p50Ms: round(median(rounds.map((x) => x.p50Ms))),
      p99Ms: round(median(rounds.map((x) => x.p99Ms))),
      serverCpu: cpus.length ? round(median(cpus), 2) : undefined,
      cpuUs: cpuUs.length ? round(median(cpuUs), 2) : undefined,
      non2xx: rounds.reduce((a, x) => a + x.non2xx, 0),
      errors: rounds.reduce((a, x) => a + x.errors, 0),
    }
  }
  return { variants: variantsOut, order }
}

/** Ratios of B over A taken round by round (each pair ran back to back): their spread shows the noise. */
export function pairedRatios(a: LoadResult[], b: LoadResult[], pick: (r: LoadResult) => number): { median: number; min: number; max: number; all: number[] } {
  const all = a.map((x, i) => round(pick(b[i] as LoadResult) / pick(x), 3))
  return { median: round(median(all), 3), min: Math.min(...all), max: Math.max(...all), all }
}
