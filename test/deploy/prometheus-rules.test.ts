import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { checkAppSecretCommand } from '../../src/cli/check-app-secret.js'
import { checkConfigCommand } from '../../src/cli/check-config.js'
import { mintJwtCommand } from '../../src/cli/mint-jwt.js'
import { tokenCommand } from '../../src/cli/token.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { requestBugLwaCodes, terminalLwaCodes } from '../../src/lwa/lwa-error.js'
import { isCumulative, labelsOf, scrapeBroker, type Exported } from '../support/exposition.js'

/**
 * deploy/prometheus-rules.yaml and docs/operations.md against the broker itself: every
 * `lwa_broker_*` metric and label they use must be one a real /metrics scrape exports (a
 * renamed metric otherwise leaves an alert that can never fire), every runbook link must
 * land on a heading of the doc, and the routes, config keys, files and CLI commands the doc
 * names must exist.
 */

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const root = join(import.meta.dirname, '../..')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')
const rulesFile = 'deploy/prometheus-rules.yaml'
const docFile = 'docs/operations.md'

/** Labels Prometheus itself attaches to every scraped series. */
const targetLabels = new Set(['job', 'instance'])
const severities = new Set(['critical', 'warning', 'info'])
/** Prometheus durations: 30s, 5m, 1h30m, … */
const durationPattern = /^(\d+(ms|s|m|h|d|w|y))+$/

// --- PromQL, as far as these checks need it ----------------------------------------------------

interface Matcher { label: string; op: string; value: string }
interface Selector { name: string; matchers: Matcher[] }

const metricPattern = /(?<![A-Za-z0-9_:])(lwa_broker_[A-Za-z0-9_:]+)(\s*\{([^}]*)\})?/g

function brokerSelectors(expr: string): Selector[] {
  return [...expr.matchAll(metricPattern)].map((m) => ({
    name: m[1] as string,
    matchers: [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)]
      .map(([, label, op, value]) => ({ label: label as string, op: op as string, value: value as string })),
  }))
}

/** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)]
    .flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean))
}

/** Parentheses, braces and brackets balance outside string literals. */
function balanced(expr: string): boolean {
  const stack: string[] = []
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' }
  let quoted = false
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if ('({['.includes(c)) stack.push(c)
    else if (c in pairs && stack.pop() !== pairs[c]) return false
  }
  return stack.length === 0 && !quoted
}

/** The top-level alternatives of a label regex: `a|b|c`. */
const alternatives = (regex: string): string[] => regex.split('|')

/** What `result` of lwa_broker_lwa_requests_total can be: `ok`, LWA's codes the broker knows, and the broker's own. */
const lwaResults = new Set(['ok', 'error', 'throttled', 'timeout', 'network', 'malformed_response', 'server_error', 'temporarily_unavailable', ...terminalLwaCodes, ...requestBugLwaCodes])
const lwaResultOk = (value: string): boolean => lwaResults.has(value) || /^http_[0-9.]{3}$/.test(value)

/** Every route the broker serves; each is asserted to exist, so the list cannot go stale silently. */
const knownRoutes = [
  ['GET', '/token'], ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'],
  ['GET', '/admin/credentials'], ['POST', '/admin/credentials/:name/refresh'], ['POST', '/admin/secrets/reload'],
] as const

/** Checks one PromQL expression's broker metrics and labels against the scrape; returns the broker metric names used. */
function checkExpr(t: Test, exported: Exported, expr: string, where: string, options: { values: boolean; familyNames?: boolean }): string[] {
  const selectors = brokerSelectors(expr)
  const used = new Set<string>()
  for (const { name, matchers } of selectors) {
    const known = exported.queryable.has(name) || (options.familyNames === true && exported.families.has(name))
    if (!t.ok(known, `${where}: ${name} is exported by the broker`)) continue
    used.add(name)
    const available = labelsOf(exported, name)
    for (const { label, op, value } of matchers) {
      t.ok(available.has(label), `${where}: ${name} has the label ${label} (it has: ${[...available].join(', ')})`)
      if (!options.values || op.startsWith('!')) continue
      const seen = exported.labels.get(name)?.get(label) ?? new Set<string>()
      const values = op === '=~' ? alternatives(value) : [value]
      if (label === 'state') for (const v of values) t.ok(seen.has(v), `${where}: ${name}{state="${v}"} is a state the broker exports`)
      if (label === 'route') {
        const matching = knownRoutes.filter(([, url]) => new RegExp(`^(?:${value})$`).test(url))
        t.ok(matching.length > 0, `${where}: route ${op} "${value}" matches a route of the broker`)
      }
      if (label === 'status') t.ok(values.every((v) => /^[1-5][0-9.]{2}$/.test(v)), `${where}: status ${op} "${value}" is an HTTP status`)
      if (label === 'result' && name.startsWith('lwa_broker_lwa_requests')) {
        for (const v of values) t.ok(lwaResultOk(v), `${where}: "${v}" is a result lwa_broker_lwa_requests_total can have`)
      }
      if (label === 'result' && name.startsWith('lwa_broker_secrets_manager_requests')) {
        for (const v of values) t.match(v, /^(ok|[A-Z][A-Za-z]+)$/, `${where}: "${v}" is ok or an AWS error name`)
      }
    }
  }
  for (const m of expr.matchAll(/\b(rate|irate|increase)\s*\(\s*(lwa_broker_[A-Za-z0-9_:]+)/g)) {
    const name = m[2] as string
    if (exported.queryable.has(name)) t.ok(isCumulative(exported, name), `${where}: ${m[1]}() is applied to a counter or histogram series (${name})`)
  }
  const available = new Set([...targetLabels, ...[...used].flatMap((n) => [...labelsOf(exported, n)])])
  for (const label of groupingLabels(expr)) t.ok(available.has(label), `${where}: grouping label ${label} exists on the metrics used`)
  return [...used]
}

// --- the doc's headings ---------------------------------------------------------------------------

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces to `-`, duplicates numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = (heading[1] as string).toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
    let slug = base
    for (let n = 1; anchors.has(slug); n++) slug = `${base}-${n}`
    anchors.add(slug)
  }
  return anchors
}

/** Inline code spans outside fenced blocks, and the fenced blocks' text. */
function codeOf(markdown: string): { spans: string[]; blocks: string[] } {
  const spans: string[] = []
  const blocks: string[] = []
  let block: string[] | undefined
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (block) {
        blocks.push(block.join('\n'))
        block = undefined
      } else block = []
      continue
    }
    if (block) block.push(line)
    else for (const m of line.matchAll(/`([^`]+)`/g)) spans.push(m[1] as string)
  }
  return { spans, blocks }
}

interface SchemaNode { properties?: Record<string, SchemaNode>; patternProperties?: Record<string, SchemaNode>; items?: SchemaNode; anyOf?: SchemaNode[] }

/** Whether `a.b.c` names a setting of the config schema (a record's keys, like a credential name, match anything). */
function configPathExists(path: string): boolean {
  let nodes: SchemaNode[] = [ConfigSchema as unknown as SchemaNode]
  for (const segment of path.split('.')) {
    nodes = nodes.flatMap((n) => [n, ...(n.anyOf ?? []), ...(n.items ? [n.items] : [])]).flatMap((n) => {
      const direct = n.properties?.[segment]
      return [...(direct ? [direct] : []), ...Object.values(n.patternProperties ?? {})]
    })
    if (nodes.length === 0) return false
  }
  return true
}

function sourceText(dir: string): string {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n')
}

// --- the rule file --------------------------------------------------------------------------------

interface Rule { alert?: unknown; record?: unknown; expr?: unknown; for?: unknown; labels?: Record<string, unknown>; annotations?: Record<string, unknown> }
interface RuleFile { groups?: Array<{ name?: unknown; rules?: Rule[] }> }

const ruleFile = parseYaml(read(rulesFile)) as RuleFile
const doc = read(docFile)
const anchors = anchorsOf(doc)
const alerts = (ruleFile.groups ?? []).flatMap((g) => g.rules ?? [])

t.test('the rule file has the shape promtool expects, and every alert its severity, summary and runbook', async (t) => {
  t.same(Object.keys(ruleFile), ['groups'], 'only `groups` at the top')
  t.ok(Array.isArray(ruleFile.groups) && ruleFile.groups.length > 0, 'at least one group')
  const groupNames = new Set<unknown>()
  for (const group of ruleFile.groups ?? []) {
    t.type(group.name, 'string', 'a group has a name')
    t.notOk(groupNames.has(group.name), `group ${String(group.name)} is named once`)
    groupNames.add(group.name)
    t.ok(Array.isArray(group.rules) && group.rules.length > 0, `group ${String(group.name)} has rules`)
  }
  const alertNames = new Set<string>()
  for (const rule of alerts) {
    const name = String(rule.alert)
    t.type(rule.alert, 'string', 'every rule is an alert')
    t.notOk(alertNames.has(name), `${name} is defined once`)
    alertNames.add(name)
    t.same(Object.keys(rule).filter((k) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)), [], `${name} has no unknown keys`)
    t.ok(typeof rule.expr === 'string' && rule.expr.trim().length > 0, `${name} has an expr`)
    t.ok(balanced(String(rule.expr)), `${name}: brackets and quotes balance`)
    t.match(String(rule.for), durationPattern, `${name} has a for duration`)
    t.ok(severities.has(String(rule.labels?.severity)), `${name} has severity critical, warning or info`)
    t.ok(typeof rule.annotations?.summary === 'string' && rule.annotations.summary.length > 0, `${name} has a summary`)
    t.ok(typeof rule.annotations?.description === 'string' && rule.annotations.description.length > 0, `${name} has a description`)
    const runbook = /\/docs\/operations\.md#([^#\s]+)$/.exec(String(rule.annotations?.runbook_url))
    if (t.ok(runbook, `${name}: runbook_url points into docs/operations.md`) && runbook?.[1]) {
      t.ok(anchors.has(runbook[1]), `${name}: docs/operations.md has the heading #${runbook[1]}`)
    }
  }
})

t.test('the alerts the operations guide promises are there', async (t) => {
  const exprs = alerts.map((r) => String(r.expr))
  const some = (pattern: RegExp, what: string): void => void t.ok(exprs.some((e) => pattern.test(e)), what)
  some(/lwa_broker_credential_health\{state="rejected"\}/, 'a rejected credential')
  some(/lwa_broker_credential_health\{state="degraded"\}/, 'a credential degraded for long')
  some(/lwa_broker_token_expiry_seconds\s*</, 'a cached token about to expire while refreshes fail')
  some(/lwa_broker_lwa_requests_total\{result=~"[^"]*http_5/, 'the LWA error ratio')
  some(/lwa_broker_lwa_requests_total\{result="throttled"\}/, 'LWA throttling')
  some(/lwa_broker_secret_stale/, 'stale secrets')
  some(/lwa_broker_secrets_manager_requests_total\{result=~"AccessDeniedException/, 'Secrets Manager refusing the broker')
  some(/lwa_broker_jwt_failures_total/, 'a JWT failure spike')
  some(/route="\/token",status=~"5\.\."/, 'the 5xx ratio of /token')
  some(/absent\(up\{job="lwa-broker"\}/, 'the broker down')
  some(/lwa_broker_app_client_secret_expiry_timestamp_seconds\) - time\(\)\) \/ 86400 < 30\b/, 'an app client secret expiring within 30 days')
  some(/lwa_broker_app_client_secret_expiry_timestamp_seconds\) - time\(\)\) \/ 86400 < 7\b/, 'an app client secret expiring within a week')
})

t.test('every metric, label and label value the rules use is one the broker exports', async (t) => {
  const { exported } = await scrapeBroker(t)
  t.ok(exported.families.size > 10, 'the scrape has metric families')
  const used = new Set<string>()
  for (const rule of alerts) {
    const name = String(rule.alert)
    const expr = String(rule.expr)
    for (const metric of checkExpr(t, exported, expr, name, { values: true })) used.add(metric)
    // Template labels are the result's labels: those of the metrics used, or the target's.
    const labels = new Set([...targetLabels, ...brokerSelectors(expr).flatMap((s) => [...labelsOf(exported, s.name)])])
    for (const text of Object.values(rule.annotations ?? {})) {
      for (const m of String(text).matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) t.ok(labels.has(m[1] as string), `${name}: annotation label ${m[1]} exists`)
      for (const m of String(text).matchAll(/\blwa_broker_[a-z0-9_]+/g)) t.ok(exported.queryable.has(m[0]) || exported.families.has(m[0]), `${name}: annotation names the exported ${m[0]}`)
    }
  }
  t.ok(used.size >= 8, `the rules use the broker's metrics (${[...used].join(', ')})`)
})

t.test('docs/operations.md names only metrics, routes, settings, files and commands that exist', async (t) => {
  const { h, exported } = await scrapeBroker(t)

  for (const m of doc.matchAll(/(?<![A-Za-z0-9_])lwa_broker_[a-z0-9_]+/g)) {
    t.ok(exported.queryable.has(m[0]) || exported.families.has(m[0]), `${m[0]} is exported`)
  }
  const { spans, blocks } = codeOf(doc)
  // Queries in code blocks must use sample names; prose may name a histogram by its family.
  for (const block of blocks) checkExpr(t, exported, block, 'a code block of the doc', { values: false })
  for (const span of spans) if (span.includes('lwa_broker_')) checkExpr(t, exported, span, `\`${span}\``, { values: false, familyNames: true })

  // The caller listener or the ops listener (/metrics).
  const serves = (route: { method: 'GET' | 'POST'; url: string }): boolean => h.app.hasRoute(route) || h.ops.hasRoute(route)
  for (const [method, url] of knownRoutes) t.ok(serves({ method, url }), `the broker serves ${method} ${url}`)
  for (const span of spans) {
    const route = /^(GET|POST) (\/[^?\s]*)/.exec(span)
    if (route) t.ok(serves({ method: route[1] as 'GET' | 'POST', url: route[2] as string }), `route \`${span}\` exists`)
    if (/^[a-z][A-Za-z]*(\.[A-Za-z0-9_-]+)+$/.test(span) && Object.hasOwn(ConfigSchema.properties, span.split('.')[0] as string)) {
      t.ok(configPathExists(span), `config key \`${span}\` exists`)
    }
    if (/^(deploy|docs|src|test|examples)\//.test(span)) t.ok(existsSync(join(root, span)), `file \`${span}\` exists`)
  }
  for (const m of doc.matchAll(/\]\(\.\.\/([^)#\s]+)\)/g)) t.ok(existsSync(join(root, m[1] as string)), `linked file ${m[1]} exists`)
  for (const m of doc.matchAll(/\]\(#([^)\s]+)\)/g)) t.ok(anchors.has(m[1] as string), `link #${m[1]} lands on a heading`)

  const code = sourceText('src') + read('Dockerfile')
  for (const name of new Set(doc.match(/\bLWA_BROKER_[A-Z_]+/g) ?? [])) t.ok(code.includes(name), `${name} is read by the broker or set by the image`)

  const commands = new Map([checkConfigCommand, tokenCommand, mintJwtCommand, checkAppSecretCommand].map((c) => [c.name, c]))
  let cliLines = 0
  for (const line of doc.split('\n')) {
    for (const m of line.matchAll(/(?:npx lwa-broker|dist\/cli\.js) ([a-z][a-z-]*)(.*)$/g)) {
      cliLines++
      const name = m[1] as string
      if (name === 'help') continue
      const command = commands.get(name)
      if (!t.ok(command, `\`lwa-broker ${name}\` is a command`) || !command) continue
      const args = (m[2] ?? '').split(/#|`|\)"/)[0] ?? ''
      for (const flag of args.match(/(?<=\s)--[a-z][a-z-]*/g) ?? []) t.match(command.usage, new RegExp(`${flag}(?![a-z-])`), `lwa-broker ${name} has the option ${flag}`)
    }
  }
  t.ok(cliLines > 3, 'the doc shows the CLI')
})
