import type { BenchResult } from './results.js'

export interface BenchContext {
  log: (line: string) => void
}

export interface Benchmark {
  name: string
  title: string
  run(ctx: BenchContext): Promise<BenchResult>
}
