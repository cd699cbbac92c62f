import { Counter, type CounterConfiguration, type Registry } from 'prom-client'

/**
 * Per-request series kept as plain numbers here and handed to prom-client at scrape time: a
 * bound prom-client child still validates and hashes its labels on every inc or observe
 * (≈0.5 µs each, four per warm GET /token in the hot-path profile); a tally is a property
 * increment. Every label value here comes from a bounded set (configured names, error
 * codes, route patterns, HTTP methods and statuses).
 */

/** A value per label values, made once, found through nested maps (no key string per call). */
function children<C>(make: (...values: string[]) => C): (...values: string[]) => C {
  const root = new Map<string, unknown>()
  return (...values) => {
    let level = root
    for (let i = 0; i < values.length - 1; i++) {
      const value = values[i] as string
      let next = level.get(value) as Map<string, unknown> | undefined
      if (!next) level.set(value, (next = new Map()))
      level = next
    }
    const last = values[values.length - 1] as string
    let child = level.get(last) as C | undefined
    if (child === undefined) level.set(last, (child = make(...values)))
    return child
  }
}

const labelsOf = (names: readonly string[], values: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.map((name, i) => [name, values[i] as string]))

/** A counter: `tally(...labelValues).n++`. */
export function tallied(config: CounterConfiguration<string>): (...values: string[]) => { n: number } {
  const cells: Array<{ n: number; labels: Record<string, string> }> = []
  new Counter({
    ...config,
    collect() {
      this.reset()
      for (const cell of cells) this.inc(cell.labels, cell.n)
    },
  })
  return children((...values) => {
    const cell = { n: 0, labels: labelsOf(config.labelNames ?? [], values) }
    cells.push(cell)
    return cell
  })
}

export interface HistogramTally {
  observe(value: number): void
}

interface HistogramCell extends HistogramTally {
  labels: Record<string, string>
  /** Per bucket, not cumulative; the last one is +Inf. */
  counts: number[]
  sum: number
}

export interface TalliedHistogramConfig {
  name: string
  help: string
  labelNames: readonly string[]
  buckets: readonly number[]
  registry: Registry
}

/**
 * A histogram: `tally(...labelValues).observe(seconds)`. Exported as prom-client exports its
 * own (cumulative `_bucket` series with `le` then the labels, `_sum`, `_count`), by a metric
 * object the registry reads like any other.
 */
export function talliedHistogram(config: TalliedHistogramConfig): (...values: string[]) => HistogramTally {
  const { name, help, buckets } = config
  const cells: HistogramCell[] = []
  config.registry.registerMetric({
    name, help, get: async () => exported(config, cells),
    reset: () => cells.forEach((cell) => {
      cell.counts.fill(0)
      cell.sum = 0
    }),
  } as unknown as Parameters<Registry['registerMetric']>[0])
  return children((...values) => {
    const cell: HistogramCell = {
      labels: labelsOf(config.labelNames, values),
      counts: new Array<number>(buckets.length + 1).fill(0),
      sum: 0,
      observe(value) {
        let i = 0
        while (i < buckets.length && value > (buckets[i] as number)) i++
        this.counts[i] = (this.counts[i] as number) + 1
        this.sum += value
      },
    }
    cells.push(cell)
    return cell
  })
}

/** The series prom-client would export for these cells, in its order. */
function exported({ name, help, buckets }: TalliedHistogramConfig, cells: readonly HistogramCell[]) {
  return {
    name, help, type: 'histogram',
    values: cells.flatMap((cell) => {
      let below = 0
      const series = (metricName: string, value: number, le?: number | string) => (le === undefined
        ? { value, metricName, labels: { ...cell.labels } }
        : { value, metricName, exemplar: null, labels: { le, ...cell.labels } })
      return [
        ...buckets.map((le, i) => series(`${name}_bucket`, (below += cell.counts[i] as number), le)),
        series(`${name}_bucket`, below + (cell.counts[buckets.length] as number), '+Inf'),
        series(`${name}_sum`, cell.sum),
        series(`${name}_count`, below + (cell.counts[buckets.length] as number)),
      ]
    }),
    aggregator: 'sum',
  }
}
