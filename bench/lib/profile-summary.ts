/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=1 npm run bench):
 * self time by function and by package/source file, and inclusive time of chosen functions.
 *
 *   npx tsx bench/lib/profile-summary.ts <file.cpuprofile> [top=40] [--inclusive=name1,name2]
 */
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[]; hitCount?: number }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Summary {
  totalMs: number
  byFunction: Array<{ name: string; ms: number; share: number }>
  byPackage: Array<{ name: string; ms: number; share: number }>
  inclusive: Array<{ name: string; ms: number; share: number }>
}

function packageOf(url: string): string {
  if (!url) return '(native/vm)'
  if (url.startsWith('node:')) return url
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0] ?? url
  }
  const src = url.indexOf('/src/')
  if (src >= 0) return url.slice(src + 1).replace(/\.(js|ts)$/, '')
  return url.replace(/^file:\/\//, '')
}

export function summarise(profile: Profile, inclusiveNames: string[] = []): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)?.callFrame.functionName ?? '')).reduce((a, [, ms]) => a + ms, 0)
  const busy = total - idle
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  const incl = new Map<string, number>()
  for (const [id, ms] of self) {
    const node = byId.get(id)
    if (!node) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)' || functionName === '(program)') continue
    const key = `${functionName || '(anonymous)'} ${packageOf(url)}:${lineNumber + 1}`
    fn.set(key, (fn.get(key) ?? 0) + ms)
    pkg.set(packageOf(url), (pkg.get(packageOf(url)) ?? 0) + ms)
    // Inclusive: charge this sample once to every named function on its stack.
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)?.callFrame.functionName ?? ''
      if (inclusiveNames.includes(name) && !seen.has(name)) {
        seen.add(name)
        incl.set(name, (incl.get(name) ?? 0) + ms)
      }
    }
  }
  const list = (m: Map<string, number>) => [...m].map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((ms / busy) * 1000) / 10 })).sort((a, b) => b.ms - a.ms)
  return { totalMs: Math.round(busy), byFunction: list(fn), byPackage: list(pkg), inclusive: list(incl) }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, topArg, ...rest] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: profile-summary <file.cpuprofile> [top] [--inclusive=a,b]\n')
    process.exit(2)
  }
  const inclusive = rest.find((a) => a.startsWith('--inclusive='))?.slice('--inclusive='.length).split(',') ?? []
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, inclusive)
  const top = Number(topArg ?? 40)
  console.log(`busy (non-idle) CPU: ${s.totalMs} ms`)
  console.log('\nself time by package / source file:')
  for (const p of s.byPackage.slice(0, 25)) console.log(`  ${String(p.share).padStart(5)}%  ${String(p.ms).padStart(6)} ms  ${p.name}`)
  console.log('\nself time by function:')
  for (const f of s.byFunction.slice(0, top)) console.log(`  ${String(f.share).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.name}`)
  if (s.inclusive.length) {
    console.log('\ninclusive time:')
    for (const f of s.inclusive) console.log(`  ${String(f.share).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.name}`)
  }
}
