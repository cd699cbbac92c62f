import { Registry } from 'prom-client'

/**
 * Metrics computed when scraped, whose exposition text is written straight from their series.
 * prom-client formats each series through a labels object, its entries and three arrays
 * (≈0.7 KB of garbage per series): at 10,000 credentials a scrape has ≈100,000 series, and
 * one scrape grew the heap by 70 MB, pages V8 then keeps. The text is prom-client's, byte for
 * byte (a test compares the two); the broker sets no default labels and serves the
 * Prometheus text format, the two things this path does not do.
 */

/** Calls `emit` once per series: its value, then its label values in `labelNames`' order. */
export type Series = (emit: (value: number, labelValues: readonly string[]) => void) => void

export interface ComputedMetric {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labelNames: readonly string[]
  registry: Registry
  series: Series
  /** For `registry.resetMetrics()`. */
  reset?: () => void
}

interface Rendered {
  /** Writes the metric's exposition text, as prom-client would format it. */
  render(out: TextWriter): void
}

type Formatter = { getMetricsAsString(metric: unknown): Promise<string> }

/**
 * Exposition text as the chunks it was written in, sent one after another: never joined into
 * one copy. Each chunk is a view of its 256 KB allocation, so what is kept is the text and at
 * most the unused tail of the last chunk.
 */
export interface Chunked {
  chunks: readonly Buffer[]
  byteLength: number
}

/**
 * The broker's registry: its text is put together as bytes, in chunks that every metric
 * writes into, so a scrape of 10,000 credentials makes no 5 MB string (nor the three copies
 * of it a string answer costs: joined, encoded, measured) on the V8 heap, and no second 5 MB
 * buffer joining the chunks (it and the chunks it was copied from were 11 MB of RSS under load).
 */
export class BrokerRegistry extends Registry {
  /** The exposition text, as `metrics()` gives it, as UTF-8 chunks. */
  async exposition(): Promise<Chunked> {
    // prom-client's own formatter, for its metrics: not in its types, but what its metrics() calls.
    const formatter = Registry.prototype as unknown as Formatter
    const out = new TextWriter()
    for (const [i, metric] of this.getMetricsAsArray().entries()) {
      if (i) out.write('\n\n')
      const own = (metric as Partial<Rendered>).render
      if (own) own.call(metric, out)
      else out.write(await formatter.getMetricsAsString.call(this, metric))
    }
    out.write('\n')
    return out.sealed()
  }

  override async metrics(): Promise<string> {
    const { chunks, byteLength } = await this.exposition()
    return Buffer.concat(chunks, byteLength).toString()
  }
}

/** Register a metric whose series are read from `series` at scrape time and kept nowhere. */
export function registerComputed(metric: ComputedMetric): void {
  const { name, help, type, labelNames, series } = metric
  registerObject(metric.registry, {
    name, help, type,
    reset: metric.reset ?? (() => {}),
    // For getMetricsAsJSON: the values as prom-client's own metrics give them.
    get: async () => {
      const values: Array<{ value: number; labels: Record<string, string> }> = []
      series((value, labelValues) => values.push({ value, labels: labelsOf(labelNames, labelValues) }))
      return { name, help, type, values, aggregator: 'sum' }
    },
    render: (out: TextWriter): void => {
      out.write(`# HELP ${name} ${escaped(help)}\n# TYPE ${name} ${type}`)
      series((value, labelValues) => {
        out.write('\n')
        out.write(name)
        for (let i = 0; i < labelNames.length; i++) {
          out.write(i ? ',' : '{')
          out.write(labelNames[i] as string)
          out.write('="')
          out.write(escapedLabel(labelValues[i] as string))
          out.write('"')
        }
        if (labelNames.length) out.write('}')
        out.write(' ')
        out.write(valueText(value))
      })
    },
  })
}

type RegistryObject = { name: string; help: string; type?: string; get: () => Promise<unknown>; reset: () => void }

/** Register any object the registry reads as a metric (`get`, `reset`, and maybe `render`). */
export function registerObject(registry: Registry, metric: RegistryObject & Partial<Rendered>): void {
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}

export const labelsOf = (names: readonly string[], values: readonly string[]): Record<string, string> => {
  const labels: Record<string, string> = {}
  for (let i = 0; i < names.length; i++) labels[names[i] as string] = values[i] as string
  return labels
}

/**
 * Text written piece by piece into fixed chunks, joined once at the end: a line built as one
 * string is a rope of a dozen parts, and the ropes of 40,000 lines live until the text is
 * joined, long enough to be moved to the old generation; a buffer grown by doubling leaves
 * twice the text in garbage and keeps up to twice its size.
 */
export class TextWriter {
  private readonly chunks: Buffer[] = []
  private chunk = Buffer.allocUnsafe(0)
  private used = 0
  private total = 0

  write(text: string): void {
    // Three bytes of UTF-8 at most per UTF-16 unit.
    if (this.used + text.length * 3 > this.chunk.length) {
      this.seal()
      this.chunk = Buffer.allocUnsafe(Math.max(chunkBytes, text.length * 3))
    }
    this.used += this.chunk.write(text, this.used)
  }

  /** What was written; the writer is not written to after. */
  sealed(): Chunked {
    this.seal()
    return { chunks: this.chunks, byteLength: this.total }
  }

  private seal(): void {
    if (this.used) this.chunks.push(this.chunk.subarray(0, this.used))
    this.total += this.used
    this.chunk = Buffer.allocUnsafe(0)
    this.used = 0
  }
}

const chunkBytes = 256 * 1024

const needsEscape = /[\\\n"]/
const escapedLabel = (value: string): string => (needsEscape.test(value) ? escaped(value).replace(/"/g, '\\"') : value)
const escaped = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  return `${value}`
}
