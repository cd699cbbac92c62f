import type { Registry } from 'prom-client'
import { labelsOf, registerComputed, registerObject } from './exposition.js'

/**
 * Per-request series kept as plain numbers here and handed to prom-client at scrape time: a
 * bound prom-client child still validates and hashes its labels on every inc or observe
 * (≈0.5 µs each, four per warm GET /token in the hot-path profile); a tally is a property
 * increment. Every label value here comes from a bounded set (configured names, error
 * codes, route patterns, HTTP methods and statuses).
 *
 * The series are a tree of label values: a map for the first label (a credential name, of
 * which there can be 10,000), then for each further label a short list of the values seen
 * under its parent (outcomes, results, statuses). A series costs its leaf and no labels
 * object, hash string or map of its own: the labels are put together when scraped, and
 * nothing a scrape makes is kept (prom-client's own metrics keep every series they export).
 */

/** One label's value in the tree, and the next value of the same label under the same parent. */
interface Node {
  readonly value: string
  next: Node | undefined
}

interface Branch extends Node {
  first: Node | undefined
}

/** The cell for each label values, made once, and every cell with its label values for a scrape. */
interface Tree<C> {
  cell: (...values: string[]) => C
  forEach: (visit: (cell: C, values: readonly string[]) => void) => void
}

/**
 * The first label's values are the map's keys, each mapped to the first node of the next
 * label's list (to its cell, for one label): no node of their own, which at 10,000 credentials
 * was 1.8 MB of nodes repeating the map's key.
 */
function tree<C extends Node>(depth: number, leaf: (value: string) => C): Tree<C> {
  const root = new Map<string, Node>()
  const branch = (value: string): Branch => ({ value, next: undefined, first: undefined })
  const level = (i: number): ((value: string) => Node) => (i === depth - 1 ? leaf : branch)
  return {
    cell(...values) {
      const first = values[0] as string
      const start = depth === 1 ? first : values[1] as string
      let node = root.get(first)
      if (!node) root.set(first, (node = level(depth === 1 ? 0 : 1)(start)))
      else if (depth > 1) node = inList(node, start, level(1))
      for (let i = 2; i < depth; i++) node = childOf(node as Branch, values[i] as string, level(i))
      return node as C
    },
    forEach(visit) {
      const path: string[] = []
      const walk = (node: Node, i: number): void => {
        path[i] = node.value
        if (i === depth - 1) visit(node as C, path)
        else for (let child = (node as Branch).first; child; child = child.next) walk(child, i + 1)
      }
      for (const [first, head] of root) {
        path[0] = first
        if (depth === 1) visit(head as C, path)
        else for (let node: Node | undefined = head; node; node = node.next) walk(node, 1)
      }
    },
  }
}

/** `value`'s node under `parent`, appended (so scrapes list values as they first came) when new. */
function childOf(parent: Branch, value: string, make: (value: string) => Node): Node {
  if (!parent.first) return (parent.first = make(value))
  return inList(parent.first, value, make)
}

/** `value`'s node in the list that begins at `head`, appended at its end when new. */
function inList(head: Node, value: string, make: (value: string) => Node): Node {
  let last = head
  for (let node: Node | undefined = head; node; node = node.next) {
    if (node.value === value) return node
    last = node
  }
  return (last.next = make(value))
}

export interface TalliedConfig {
  name: string
  help: string
  /** At least one: a series without labels is a plain number, not a tally. */
  labelNames: readonly string[]
  registry: Registry
}

interface CounterCell extends Node {
  n: number
}

/** A counter: `tally(...labelValues).n++`. */
export function tallied(config: TalliedConfig): (...values: string[]) => { n: number } {
  const counts = tree<CounterCell>(config.labelNames.length, (value) => ({ value, next: undefined, n: 0 }))
  registerComputed({
    ...config, type: 'counter',
    series: (emit) => counts.forEach((cell, path) => emit(cell.n, path)),
    reset: () => counts.forEach((cell) => { cell.n = 0 }),
  })
  return counts.cell
}

export interface HistogramTally {
  observe(value: number): void
}

interface HistogramCell extends HistogramTally, Node {
  /** Per bucket, not cumulative; the last one is +Inf. */
  counts: number[]
  sum: number
}

export interface TalliedHistogramConfig extends TalliedConfig {
  buckets: readonly number[]
}

/**
 * A histogram: `tally(...labelValues).observe(seconds)`. Exported as prom-client exports its
 * own (cumulative `_bucket` series with `le` then the labels, `_sum`, `_count`).
 */
export function talliedHistogram(config: TalliedHistogramConfig): (...values: string[]) => HistogramTally {
  const { buckets } = config
  const cells = tree<HistogramCell>(config.labelNames.length, (value) => ({
    value,
    next: undefined,
    counts: new Array<number>(buckets.length + 1).fill(0),
    sum: 0,
    observe(seconds) {
      let i = 0
      while (i < buckets.length && seconds > (buckets[i] as number)) i++
      this.counts[i] = (this.counts[i] as number) + 1
      this.sum += seconds
    },
  }))
  const { name, help } = config
  registerObject(config.registry, {
    name, help,
    get: async () => ({ name, help, type: 'histogram', values: exported(config, cells), aggregator: 'sum' }),
    reset: () => cells.forEach((cell) => {
      cell.counts.fill(0)
      cell.sum = 0
    }),
  })
  return cells.cell
}

/** The series prom-client would export for these cells, in its order. */
function exported({ name, buckets, labelNames }: TalliedHistogramConfig, cells: Tree<HistogramCell>) {
  const out: Array<{ value: number; metricName: string; labels: object; exemplar?: null }> = []
  cells.forEach((cell, path) => {
    const labels = labelsOf(labelNames, path)
    const series = (metricName: string, value: number, le?: number | string): void => {
      out.push(le === undefined
        ? { value, metricName, labels }
        : { value, metricName, exemplar: null, labels: { le, ...labels } })
    }
    let below = 0
    buckets.forEach((le, i) => series(`${name}_bucket`, (below += cell.counts[i] as number), le))
    const count = below + (cell.counts[buckets.length] as number)
    series(`${name}_bucket`, count, '+Inf')
    series(`${name}_sum`, cell.sum)
    series(`${name}_count`, count)
  })
  return out
}
