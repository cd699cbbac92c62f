/**
 * `npm run bench` runs every benchmark in bench/ (or those named: `npm run bench -- hot-path scale`),
 * writes bench/results/<name>.json for each, and regenerates BENCHMARKS.md from all the JSON
 * files. `npm run bench -- --report` only regenerates BENCHMARKS.md.
 */
import { ablation } from './ablation.js'
import { alternative } from './alternative.js'
import { catalogue } from './catalogue.js'
import { distinctCallers } from './distinct-callers.js'
import { hotPath } from './hot-path.js'
import type { Benchmark } from './lib/context.js'
import { writeMarkdown } from './lib/report.js'
import { writeResult } from './lib/results.js'
import { rdt } from './rdt.js'
import { redisReplicas } from './redis-replicas.js'
import { scale } from './scale.js'
import { stampede } from './stampede.js'
import { steadyState } from './steady-state.js'

// The AWS SDK's notice that its 2027 releases need Node 22 is not news to a benchmark run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const suite: Benchmark[] = [hotPath, distinctCallers, stampede, alternative, scale, steadyState, redisReplicas, catalogue, rdt]
/** Supporting benchmarks, run only when named. */
const extra: Benchmark[] = [ablation]
const all = [...suite, ...extra]

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (!args.includes('--report')) {
    const unknown = args.filter((a) => !all.some((b) => b.name === a))
    if (unknown.length) {
      process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${all.map((b) => b.name).join(', ')}\n`)
      process.exit(2)
    }
    const chosen = args.length ? all.filter((b) => args.includes(b.name)) : suite
    const t0 = Date.now()
    for (const bench of chosen) {
      console.log(`\n== ${bench.name}`)
      const result = await bench.run({ log: (line) => console.log(line) })
      const file = writeResult(result)
      for (const f of result.figures.filter((x) => x.target)) {
        console.log(`  ${f.pass ? 'pass  ' : 'MISSED'} ${f.label}: ${f.value} ${f.unit} (target ${f.target?.op} ${f.target?.value})`)
      }
      console.log(`  -> ${file} (${result.durationSeconds} s)`)
    }
    console.log(`\nall done in ${Math.round((Date.now() - t0) / 1000)} s`)
  }
  console.log(`report: ${writeMarkdown()}`)
}

await main()
