import { Gauge, Registry } from 'prom-client'
import t from 'tap'
import { BrokerRegistry, registerComputed, registerObject, TextWriter, type Series } from '../../src/observability/exposition.js'
import { tallied } from '../../src/observability/tallies.js'

const rows: Array<[number, string[]]> = [
  [1, ['seller-1', 'healthy']], [0, ['quote"back\\slash', 'new\nline']], [-12.5, ['seller-2', 'degraded']],
  [Number.NaN, ['nan', 'x']], [Number.POSITIVE_INFINITY, ['inf', 'x']], [Number.NEGATIVE_INFINITY, ['-inf', 'x']],
]
const series: Series = (emit) => rows.forEach(([value, labels]) => emit(value, labels))
const help = 'Health, with a \\ and a\nnewline in its help.'

t.test('a computed gauge renders the text prom-client renders for the same series, escapes and all', async (t) => {
  const theirs = new Registry()
  const gauge = new Gauge({ name: 'g', help, labelNames: ['credential', 'state'], registers: [theirs] })
  for (const [value, [credential, state]] of rows) gauge.set({ credential, state }, value)
  const ours = new BrokerRegistry()
  registerComputed({ name: 'g', help, type: 'gauge', labelNames: ['credential', 'state'], registry: ours, series })
  t.equal(await ours.metrics(), await theirs.metrics())
  t.match(await ours.metrics(), 'g{credential="quote\\"back\\\\slash",state="new\\nline"} 0')
  const asJson = async (registry: Registry) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as unknown
  t.same(await asJson(ours), await asJson(theirs), 'and the same JSON')
})

t.test('the broker registry renders prom-client\'s own metrics as prom-client does, in registration order', async (t) => {
  const build = (registry: Registry) => {
    new Gauge({ name: 'first', help: 'before', registers: [registry] }).set(3)
    tallied({ name: 'c_total', help: 'count', labelNames: ['route'], registry })('/token').n += 2
    registerComputed({ name: 'none', help: 'no series', type: 'gauge', labelNames: [], registry, series: () => {} })
    registerComputed({ name: 'plain', help: 'no labels', type: 'gauge', labelNames: [], registry, series: (e) => e(7, []) })
    return registry
  }
  const text = await build(new BrokerRegistry()).metrics()
  t.equal(text, await build(new Registry()).metrics())
  t.match(text, /^# HELP first before\n# TYPE first gauge\nfirst 3\n\n# HELP c_total count\n# TYPE c_total counter\nc_total\{route="\/token"} 2\n/)
  t.match(text, '# TYPE none gauge\n\n# HELP plain no labels\n# TYPE plain gauge\nplain 7\n')
})

t.test('the broker registry takes the text a metric renders itself', async (t) => {
  const registry = new BrokerRegistry()
  const get = async () => ({ name: 'own', help: 'h', type: 'gauge', values: [] })
  const metric = { name: 'own', help: 'h', type: 'gauge', reset: () => {}, get }
  registerObject(registry, { ...metric, render: (out) => out.write('# rendered by the metric') })
  t.equal(await registry.metrics(), '# rendered by the metric\n')
  registerObject(registry, { ...metric, name: 'other' })
  t.match(await registry.metrics(), '# HELP own h\n# TYPE own gauge', 'one without render is formatted by prom-client')
})

t.test('the text writer joins pieces across its chunks, multi-byte ones and one longer than a chunk included', async (t) => {
  const pieces = Array.from({ length: 40_000 }, (_, i) => `é${i}"\n`).concat('x'.repeat(300_000), 'ü€')
  const out = new TextWriter()
  pieces.forEach((piece) => out.write(piece))
  const { chunks, byteLength } = out.sealed()
  t.ok(chunks.length > 1, 'written in more than one chunk')
  t.equal(Buffer.concat(chunks).toString(), pieces.join(''))
  t.equal(byteLength, Buffer.byteLength(pieces.join('')))
})
