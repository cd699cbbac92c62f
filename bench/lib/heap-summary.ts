/**
 * What a V8 heap snapshot holds, by kind of object: self size and count per constructor (or
 * per type for strings, arrays, code), the biggest first. Good enough to see what a credential
 * or a caller costs: compare a snapshot of the scale benchmark's large broker with its count.
 *
 *   npx tsx bench/lib/heap-summary.ts <file.heapsnapshot> [top=30]
 */
import { readFileSync } from 'node:fs'

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

export function summariseHeap(snapshot: Snapshot): Array<{ name: string; count: number; bytes: number }> {
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number]
  const groups = new Map<string, { count: number; bytes: number }>()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt] as number] as string
    const name = type === 'object' || type === 'closure' ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt] as number]}` : type
    const group = groups.get(name) ?? { count: 0, bytes: 0 }
    group.count++
    group.bytes += snapshot.nodes[i + sizeAt] as number
    groups.set(name, group)
  }
  return [...groups].map(([name, g]) => ({ name, ...g })).sort((a, b) => b.bytes - a.bytes)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = '30'] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: heap-summary <file.heapsnapshot> [top]\n')
    process.exit(2)
  }
  const rows = summariseHeap(JSON.parse(readFileSync(file, 'utf8')) as Snapshot)
  const total = rows.reduce((acc, r) => acc + r.bytes, 0)
  process.stdout.write(`total self size: ${(total / 2 ** 20).toFixed(1)} MB\n`)
  for (const r of rows.slice(0, Number(top))) {
    process.stdout.write(`${(r.bytes / 2 ** 20).toFixed(2).padStart(8)} MB ${String(r.count).padStart(9)}  ${r.name}\n`)
  }
}
