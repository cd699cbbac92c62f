import autocannon from 'autocannon'
import type { ServerHandle } from './server.js'
import { percentileSorted, round } from './stats.js'

export interface LoadRequest {
  /** GET unless told: POST routes (e.g. /restricted-data-token) are loaded with the same generator. */
  method?: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadOptions {
  url: string
  connections: number
  durationSeconds: number
  /** One request repeated, or a list cycled: each connection gets every n-th entry, so all are used. */
  requests: LoadRequest[]
  /** The server child, to read how busy its core was. */
  server?: ServerHandle
}

export interface LoadResult {
  requests: number
  durationSeconds: number
  rps: number
  /** Latencies in milliseconds with sub-millisecond resolution (autocannon's own histogram rounds to 1 ms). */
  p50Ms: number
  p90Ms: number
  p99Ms: number
  meanMs: number
  non2xx: number
  errors: number
  timeouts: number
  bytesPerResponse: number
  /** The server child's CPU time over wall time during the run: ~1.0 means its core was saturated. */
  serverCpu: number | undefined
  /**
   * The server child's CPU time per answered request, in microseconds (all its threads). Unlike
   * req/s it does not depend on how much of its core a noisy machine left it.
   */
  serverCpuUsPerRequest: number | undefined
  /** Of which in the kernel (system time): socket and pipe writes, reads, epoll. */
  serverSystemUsPerRequest: number | undefined
}

/** Runs autocannon from this process against `url` and measures every response's latency itself. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const { connections, requests } = options
  let latencies = new Float64Array(1 << 18)
  let count = 0
  let nextClient = 0
  const before = await options.server?.usage()
  let finished: (err: unknown, result: autocannon.Result) => void = () => {}
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result))
  })
  const instance = autocannon({
    url: options.url,
    connections,
    duration: options.durationSeconds,
    pipelining: 1,
    timeout: 10,
    requests: [{ method: 'GET', ...requests[0] }],
    setupClient: (client) => {
      if (requests.length <= 1) return
      const k = nextClient++ % connections
      const mine: LoadRequest[] = []
      for (let i = k; i < requests.length; i += connections) mine.push(requests[i] as LoadRequest)
      client.setRequests(mine.map((r) => ({ method: 'GET', ...r })))
    },
  }, (err, result) => finished(err, result))
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[count++] = responseTime
  })
  const result = await done
  const after = await options.server?.usage()
  const sorted = latencies.subarray(0, count).sort()
  let sum = 0
  for (let i = 0; i < count; i++) sum += sorted[i] as number
  const completed = result['2xx'] + result.non2xx
  const cpuMs = before && after ? after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs : undefined
  const serverCpu = cpuMs === undefined || !before || !after ? undefined : cpuMs / (after.uptimeMs - before.uptimeMs)
  return {
    requests: completed,
    durationSeconds: result.duration,
    rps: round(completed / result.duration, 1),
    p50Ms: round(percentileSorted(sorted, 50)),
    p90Ms: round(percentileSorted(sorted, 90)),
    p99Ms: round(percentileSorted(sorted, 99)),
    meanMs: round(count === 0 ? NaN : sum / count),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytesPerResponse: completed === 0 ? 0 : Math.round(result.throughput.total / completed),
    serverCpu: serverCpu === undefined ? undefined : round(serverCpu, 2),
    serverCpuUsPerRequest: cpuMs === undefined || completed === 0 ? undefined : round((cpuMs * 1000) / completed, 2),
    serverSystemUsPerRequest: !before || !after || completed === 0 ? undefined : round(((after.cpuSystemMs - before.cpuSystemMs) * 1000) / completed, 2),
  }
}
