import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { labelsOf, scrapeBroker, type Exported } from '../support/exposition.js'

/**
 * deploy/prometheus-rules.yaml through promtool itself: the rule file must load, and its unit
 * tests (deploy/prometheus-rules.test.yaml) must pass. Every alert needs a case where it fires
 * and one where it does not, and the test series must look like what the broker exports, so
 * a test of a metric or label that does not exist cannot pass for the wrong reason.
 */

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const root = join(import.meta.dirname, '../..')
const rulesFile = 'deploy/prometheus-rules.yaml'
const unitTestFile = 'deploy/prometheus-rules.test.yaml'
const promtoolTimeoutMs = 60_000
/** Labels Prometheus attaches to every scraped series. */
const targetLabels = ['job', 'instance']

interface Run { code: number | string; output: string }

/** Runs promtool from the repository root; its exit code, with stdout and stderr together. */
function promtool(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd: root, timeout: promtoolTimeoutMs }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error('promtool is not installed: apt-get install prometheus (npm run test:all installs it)'))
        return
      }
      resolve({ code: err ? (err.code ?? err.signal ?? 'failed') : 0, output })
    })
  })
}

function passes(t: Test, run: Run, what: string): void {
  t.equal(run.code, 0, `${what} exits 0`, { output: run.output })
  t.match(run.output, /^\s*SUCCESS\b/m, `${what} says SUCCESS`, { output: run.output })
}

interface Rule { alert?: string }
interface RuleFile { groups?: Array<{ rules?: Rule[] }> }
interface AlertCase { eval_time?: string; alertname?: string; exp_alerts?: unknown[] | null }
interface UnitTest {
  name?: string
  input_series?: Array<{ series?: string }>
  alert_rule_test?: AlertCase[]
}
interface UnitTestFile { rule_files?: string[]; tests?: UnitTest[] }

const read = (path: string): string => readFileSync(join(root, path), 'utf8')
const rules = parseYaml(read(rulesFile)) as RuleFile
const unitTests = parseYaml(read(unitTestFile)) as UnitTestFile
const alertNames = (rules.groups ?? []).flatMap((g) => g.rules ?? []).map((r) => String(r.alert))
const cases = (unitTests.tests ?? [])
  .flatMap((test) => (test.alert_rule_test ?? []).map((c) => ({ test: String(test.name), ...c })))

t.test('promtool check rules: the rule file loads', async (t) => {
  passes(t, await promtool('check', 'rules', rulesFile), `promtool check rules ${rulesFile}`)
})

t.test('promtool test rules: the unit tests of the alerts pass', async (t) => {
  t.same(unitTests.rule_files, ['prometheus-rules.yaml'], `${unitTestFile} tests ${rulesFile} (paths are relative to it)`)
  passes(t, await promtool('test', 'rules', unitTestFile), `promtool test rules ${unitTestFile}`)
})

t.test('every alert has a case where it fires and one where it does not', async (t) => {
  t.ok(alertNames.length > 0, 'the rule file has alerts')
  for (const c of cases) {
    t.ok(alertNames.includes(String(c.alertname)), `"${c.test}" at ${c.eval_time} tests ${c.alertname}, an alert of ${rulesFile}`)
  }
  for (const name of alertNames) {
    const mine = cases.filter((c) => c.alertname === name)
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name} has a case where it fires`)
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} has a case where it does not fire`)
  }
})

/** `name{a="x",b="y"}` of an input series: its name and labels. */
function seriesOf(series: string): { name: string; labels: Map<string, string> } | undefined {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$/.exec(series.trim())
  if (!m?.[1]) return undefined
  const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)]
  return { name: m[1], labels: new Map(labels.map((l) => [l[1] as string, l[2] as string])) }
}

/** One input series against the scrape: a metric the broker exports, with exactly its labels (and the target's). */
function checkSeries(t: Test, exported: Exported, test: string, series: string): void {
  const parsed = seriesOf(series)
  if (!t.ok(parsed, `"${test}": ${series} is name{labels}`) || !parsed) return
  const { name, labels } = parsed
  t.ok(targetLabels.every((l) => labels.has(l)), `"${test}": ${name} has job and instance, as scraped`)
  // `up` is Prometheus's own, about the target: job and instance only.
  if (name !== 'up' && !t.ok(exported.queryable.has(name), `"${test}": ${name} is exported by the broker`)) return
  const known = name === 'up' ? new Set<string>() : labelsOf(exported, name)
  for (const label of labels.keys()) {
    const ok = known.has(label) || targetLabels.includes(label)
    t.ok(ok, `"${test}": ${name} has the label ${label} (it has: ${[...known].join(', ')})`)
  }
  for (const label of known) t.ok(labels.has(label), `"${test}": ${name} sets ${label}, as the broker does`)
  const state = labels.get('state')
  if (state !== undefined) {
    t.ok(exported.labels.get(name)?.get('state')?.has(state), `"${test}": ${name}{state="${state}"} is a state the broker exports`)
  }
}

t.test('the unit tests feed series named and labelled as the broker exports them', async (t) => {
  const { exported } = await scrapeBroker(t)
  const inputs = (unitTests.tests ?? []).flatMap((test) => (test.input_series ?? []).map((s) => [String(test.name), String(s.series)] as const))
  t.ok(inputs.length > 0, 'the unit tests have input series')
  for (const [test, series] of inputs) checkSeries(t, exported, test, series)
})
