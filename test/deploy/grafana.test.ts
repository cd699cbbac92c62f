import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isCumulative, labelsOf, scrapeBroker, type Exported } from '../support/exposition.js'
import { RedisServer } from '../support/redis-server.js'

/**
 * deploy/grafana/lwa-broker.json against the broker itself: every metric a panel or a
 * template variable queries must be one a real /metrics scrape exports, with the labels the
 * query selects and groups by (a renamed metric otherwise leaves a panel that says "No data"
 * for ever); and the JSON must import cleanly: unique panel ids, titles, every query on the
 * `${datasource}` variable, panels that do not overlap.
 */

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const root = join(import.meta.dirname, '../..')
const dashboardFile = 'deploy/grafana/lwa-broker.json'
const datasourceUid = '${datasource}'
const gridColumns = 24
/** Labels Prometheus attaches to every scraped series; `up` has only these. */
const targetLabels = ['job', 'instance']
/** Exported only by a broker with `cache.backend: redis`. */
const redisOnly = new Set(['lwa_broker_shared_cache_up'])
/** Labels whose every value a scrape of the test broker shows, so a selected value must be among them. */
const closedLabels = new Set(['state', 'route'])
const grafanaVariables = new Set(['__rate_interval', '__interval', '__range', '__interval_ms', '__range_s'])
const keywords = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan',
])

interface DataSourceRef { type?: string; uid?: string }
interface Target { refId?: string; expr?: string; legendFormat?: string; datasource?: DataSourceRef }
interface Panel {
  id?: number; type?: string; title?: string; datasource?: DataSourceRef | string
  gridPos?: { x: number; y: number; w: number; h: number }; targets?: Target[]; panels?: Panel[]
}
interface Variable {
  name?: string; type?: string; query?: unknown; definition?: string; datasource?: DataSourceRef; includeAll?: boolean
}
interface Dashboard {
  uid?: string; title?: string; id?: unknown; schemaVersion?: number; panels?: Panel[]; templating?: { list?: Variable[] }
}

const dashboard = JSON.parse(readFileSync(join(root, dashboardFile), 'utf8')) as Dashboard
const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])])
const variables = dashboard.templating?.list ?? []
const queries = panels.flatMap((p) => (p.targets ?? [])
  .map((target) => ({ where: `panel "${p.title}" ${target.refId}`, target })))

/** A query variable's PromQL: the string form, or the query editor's `{ query }`. */
function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : String((v.query as { query?: unknown } | undefined)?.query ?? '')
}

// --- PromQL, as far as these checks need it ----------------------------------------------------

interface Matcher { label: string; op: string; value: string }
interface Selector { name: string; matchers: Matcher[] }
interface Grouping { labels: string[]; scope: Selector[] }
interface Parsed { selectors: Selector[]; groupings: Grouping[] }

const groupingPattern = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g
const blank = (s: string): string => ' '.repeat(s.length)

/** The balanced (…) group that opens at `index` (forward) or closes there (backward): [start, end). */
function parenGroup(text: string, index: number, forward: boolean): [number, number] | undefined {
  let depth = 0
  for (let i = index; forward ? i < text.length : i >= 0; i += forward ? 1 : -1) {
    const c = text[i]
    if (c === (forward ? '(' : ')')) depth++
    else if (c === (forward ? ')' : '(') && --depth === 0) return forward ? [index, i + 1] : [i, index + 1]
  }
  return undefined
}

/** Metric selectors (name and matchers) and grouping clauses, each with the selectors it applies to. */
function parsePromql(expr: string): Parsed {
  // Same-length blanks keep offsets: matchers are read from the original text.
  let clean = expr.replace(/\{[^}]*\}/g, (m) => `{${blank(m.slice(2))}}`)
  const clauses = [...clean.matchAll(groupingPattern)].map((m) => ({
    index: m.index ?? 0, length: m[0].length, labels: (m[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  }))
  clean = clean.replace(groupingPattern, blank).replace(/\[[^\]]*\]/g, blank).replace(/\$\{?\w+\}?/g, blank)
  clean = clean.replace(/(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?(?![\w:])/g, blank)
  const selectors: Array<Selector & { index: number }> = []
  for (const m of clean.matchAll(/(?<![\w:])([a-zA-Z_:][\w:]*)(\s*\{\s*\})?(?!\s*\(|[\w:])/g)) {
    const name = m[1] as string
    if (keywords.has(name)) continue
    const braces = m[2] ? expr.slice((m.index ?? 0) + name.length, (m.index ?? 0) + m[0].length) : ''
    const matchers = [...braces.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)]
      .map(([, label, op, value]) => ({ label: label as string, op: op as string, value: value as string }))
    selectors.push({ name, matchers, index: m.index ?? 0 })
  }
  const groupings = clauses.map(({ index, length, labels }) => {
    // `sum by (x) (…)`, `sum(…) by (x)`; on/ignoring/group_*: the whole expression.
    const after = /^\s*\(/.exec(expr.slice(index + length))
    const before = /\)\s*$/.exec(expr.slice(0, index))
    const range = after ? parenGroup(expr, index + length + after[0].indexOf('('), true)
      : before ? parenGroup(expr, index - before[0].length + before[0].indexOf(')'), false) : undefined
    const [from, to] = range ?? [0, expr.length]
    return { labels, scope: selectors.filter((s) => s.index >= from && s.index < to) }
  })
  return { selectors, groupings }
}

// --- checks against the scrapes ---------------------------------------------------------------

interface Scrapes { memory: Exported; redis: Exported }

/** The scrape a metric belongs to: every broker's, or a Redis-backed one's. */
function exporterOf(scrapes: Scrapes, name: string): Exported | undefined {
  if (scrapes.memory.queryable.has(name)) return scrapes.memory
  return redisOnly.has(name) && scrapes.redis.queryable.has(name) ? scrapes.redis : undefined
}

function labelsOn(scrapes: Scrapes, name: string): Set<string> {
  const exported = exporterOf(scrapes, name)
  return new Set([...targetLabels, ...(exported ? labelsOf(exported, name) : [])])
}

function checkSelector(t: Test, scrapes: Scrapes, { name, matchers }: Selector, where: string): void {
  const exported = exporterOf(scrapes, name)
  const withRedis = redisOnly.has(name) ? ' (with Redis)' : ''
  if (!t.ok(name === 'up' || exported, `${where}: ${name} is exported by the broker${withRedis}`)) return
  const available = labelsOn(scrapes, name)
  for (const { label, op, value } of matchers) {
    t.ok(available.has(label), `${where}: ${name} has the label ${label} (it has: ${[...available].join(', ')})`)
    if (!exported || op.startsWith('!') || value.includes('$')) continue
    const seen = exported.labels.get(name)?.get(label) ?? new Set<string>()
    const values = op === '=~' ? value.split('|') : [value]
    if (closedLabels.has(label)) {
      for (const v of values) t.ok(seen.has(v), `${where}: ${name}{${label}="${v}"} is a value the broker exports`)
    }
    if (label === 'status') {
      t.ok(values.every((v) => /^[1-5][0-9.]{2}$/.test(v)), `${where}: status ${op} "${value}" is an HTTP status`)
    }
  }
}

/** Checks one query's metrics, matchers, groupings, rate()s and legend; returns the metric names used. */
function checkQuery(t: Test, scrapes: Scrapes, expr: string, where: string, legend = ''): string[] {
  const { selectors, groupings } = parsePromql(expr)
  t.ok(selectors.length > 0, `${where}: queries a metric`)
  for (const selector of selectors) checkSelector(t, scrapes, selector, where)
  for (const { labels, scope } of groupings) {
    for (const label of labels) {
      for (const s of scope) {
        t.ok(labelsOn(scrapes, s.name).has(label), `${where}: ${s.name} has the grouping label ${label}`)
      }
    }
  }
  for (const m of expr.matchAll(/\b(rate|irate|increase)\s*\(\s*([a-zA-Z_:][\w:]*)/g)) {
    const [, fn, name] = m as unknown as [string, string, string]
    const exported = exporterOf(scrapes, name)
    if (!exported) continue
    t.ok(isCumulative(exported, name), `${where}: ${fn}() is applied to a counter or histogram series (${name})`)
  }
  const grouped = new Set(groupings.flatMap((g) => g.labels))
  const labelled = grouped.size > 0 ? grouped : new Set(selectors.flatMap((s) => [...labelsOn(scrapes, s.name)]))
  for (const m of legend.matchAll(/\{\{\s*([a-zA-Z_]\w*)\s*\}\}/g)) {
    t.ok(labelled.has(m[1] as string), `${where}: the legend's ${m[1]} is a label of the result`)
  }
  for (const m of expr.matchAll(/\$\{?(\w+)\}?/g)) {
    const name = m[1] as string
    const defined = grafanaVariables.has(name) || variables.some((v) => v.name === name)
    t.ok(defined, `${where}: $${name} is a variable of the dashboard`)
  }
  return selectors.map((s) => s.name)
}

// --- the tests ------------------------------------------------------------------------------------

t.test('the dashboard is an importable Grafana JSON model', async (t) => {
  t.ok((dashboard.schemaVersion ?? 0) >= 39, `schemaVersion ${dashboard.schemaVersion} (Grafana 10.4 or later)`)
  t.equal(dashboard.id, null, 'no database id: it imports as a new dashboard')
  t.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/, 'a stable uid, so links survive a re-import')
  t.ok(dashboard.title, 'a title')
  t.ok(panels.length > 10, `panels (${panels.length})`)
  const ids = panels.map((p) => p.id)
  t.ok(ids.every((id) => Number.isInteger(id)), 'every panel has a numeric id')
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'panel ids are unique')
  for (const p of panels) {
    t.ok(typeof p.title === 'string' && p.title.trim().length > 0, `panel ${p.id} (${p.type}) has a title`)
    t.same(p.datasource, { type: 'prometheus', uid: datasourceUid }, `panel "${p.title}" uses the ${datasourceUid} variable`)
    if (p.type === 'row') continue
    t.ok((p.targets ?? []).length > 0, `panel "${p.title}" has queries`)
    const refIds = (p.targets ?? []).map((target) => target.refId)
    t.equal(new Set(refIds).size, refIds.length, `panel "${p.title}": refIds are unique`)
  }
  for (const { where, target } of queries) {
    t.same(target.datasource, { type: 'prometheus', uid: datasourceUid }, `${where} uses the ${datasourceUid} variable`)
    t.ok(typeof target.expr === 'string' && target.expr.trim().length > 0, `${where} has an expr`)
  }
})

t.test('panels sit on the 24-column grid without overlapping', async (t) => {
  const taken = new Map<string, string>()
  const overlaps = new Set<string>()
  for (const p of dashboard.panels ?? []) {
    const g = p.gridPos
    if (!t.ok(g, `panel "${p.title}" has a gridPos`) || !g) continue
    const fits = g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= gridColumns
    t.ok(fits, `panel "${p.title}" fits in ${gridColumns} columns`)
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const other = taken.get(`${x},${y}`)
        if (other) overlaps.add(`"${p.title}" overlaps "${other}"`)
        taken.set(`${x},${y}`, String(p.title))
      }
    }
  }
  t.same([...overlaps], [], 'no two panels share a cell')
})

t.test('the template variables: a Prometheus data source, then job and credential from the broker', async (t) => {
  const byName = new Map(variables.map((v) => [v.name, v]))
  const ds = byName.get('datasource')
  t.equal(ds?.type, 'datasource', 'a data source variable')
  t.equal(ds?.query, 'prometheus', 'of Prometheus data sources')
  for (const name of ['job', 'credential']) {
    const v = byName.get(name)
    t.equal(v?.type, 'query', `a ${name} query variable`)
    t.same(v?.datasource, { type: 'prometheus', uid: datasourceUid }, `${name} is queried on ${datasourceUid}`)
  }
  t.ok(byName.get('credential')?.includeAll, 'credential offers All')
  const used = queries.map((q) => String(q.target.expr)).join('\n')
  for (const name of ['job', 'credential']) t.match(used, new RegExp(`\\$${name}\\b`), `panels filter by $${name}`)
})

t.test('every metric and label the dashboard queries is one the broker exports', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const { exported: memory } = await scrapeBroker(t)
  const { exported: withRedis } = await scrapeBroker(t, { redis: { connection: redis.connection, key: randomBytes(32) } })
  const scrapes = { memory, redis: withRedis }
  for (const name of redisOnly) {
    t.notOk(memory.queryable.has(name), `${name} is absent from a broker without Redis (else drop it from redisOnly)`)
    t.ok(withRedis.queryable.has(name), `${name} is exported by a broker with Redis`)
  }
  const used = new Set<string>()
  for (const { where, target } of queries) {
    for (const name of checkQuery(t, scrapes, String(target.expr), where, target.legendFormat)) used.add(name)
  }
  for (const v of variables.filter((v) => v.type === 'query')) {
    const where = `variable $${v.name}`
    const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\s*\)$/.exec(variableQuery(v).trim())
    if (!t.ok(m, `${where} is label_values(query, label)`) || !m) continue
    for (const name of checkQuery(t, scrapes, m[1] as string, where)) {
      t.ok(labelsOn(scrapes, name).has(m[2] as string), `${where}: ${name} has the label ${m[2]}`)
    }
    t.equal(v.definition, variableQuery(v), `${where}: definition and query agree`)
  }
  const wanted = [
    'tokens_issued_total', 'http_request_duration_seconds_bucket', 'token_cache_lookups_total', 'lwa_requests_total',
    'lwa_request_duration_seconds_bucket', 'secrets_manager_requests_total', 'credential_health', 'token_expiry_seconds',
    'jwt_failures_total', 'shared_cache_up', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
    'nodejs_eventloop_lag_p99_seconds',
  ]
  for (const name of wanted) t.ok(used.has(`lwa_broker_${name}`), `a panel shows lwa_broker_${name}`)
})
