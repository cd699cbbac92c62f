import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine, type Machine } from './machine.js'

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const resultsDir = join(benchDir, 'results')
export const repoDir = join(benchDir, '..')

export type Op = '>=' | '<=' | '=='

export interface Target {
  op: Op
  value: number
}

/**
 * One reported number. `ratio` figures are what the benchmark is judged by (measured against
 * a baseline in the same run); `count` figures are exact counts; `context` figures are
 * absolute numbers from a shared, noisy machine, for orientation only.
 */
export interface Figure {
  key: string
  label: string
  value: number
  unit: string
  kind: 'ratio' | 'count' | 'context'
  target?: Target
  pass?: boolean
}

export interface MissedTarget {
  key: string
  label: string
  value: number
  target: Target
  reason: string
  tried: string
}

export interface BenchResult {
  /** Why this run is not evidence (e.g. the baseline was not saturated); its targets then count as missed. */
  invalid?: string
  name: string
  title: string
  /** What was measured and how, one paragraph for BENCHMARKS.md. */
  method: string
  machine: Machine
  git: string
  durationSeconds: number
  figures: Figure[]
  pass: boolean
  missed: MissedTarget[]
  notes: string[]
  raw: unknown
}

export function check(value: number, target: Target): boolean {
  if (!Number.isFinite(value)) return false
  switch (target.op) {
    case '>=': return value >= target.value
    case '<=': return value <= target.value
    case '==': return value === target.value
  }
}

export function gitDescribe(): string {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const commit = git(['rev-parse', '--short', 'HEAD'])
    const dirty = git(['status', '--porcelain', '--', 'src']) !== ''
    return dirty ? `${commit} + uncommitted changes in src/` : commit
  } catch {
    return 'unknown'
  }
}

/** Why a target was missed and what was tried, as found by profiling (see bench/lib/findings.ts). */
export type Explanations = Record<string, { reason: string; tried: string }>

export interface ResultInput {
  name: string
  title: string
  method: string
  startedAt: number
  machine: Machine
  figures: Figure[]
  notes?: string[]
  raw: unknown
  /** Set when the run cannot be trusted: every target is reported as missed, with this reason. */
  invalid?: string
}

export function finish(input: ResultInput, explanations: Explanations): BenchResult {
  const figures = input.figures.map((f) => (f.target ? { ...f, pass: input.invalid ? false : check(f.value, f.target) } : f))
  const missed: MissedTarget[] = figures.filter((f) => f.target && f.pass === false).map((f) => ({
    key: f.key,
    label: f.label,
    value: f.value,
    target: f.target as Target,
    reason: explanations[`${input.name}.${f.key}`]?.reason ?? 'No analysis on file for this miss yet: profile it (see BENCHMARKS.md, "Profiling").',
    tried: explanations[`${input.name}.${f.key}`]?.tried ?? 'Nothing yet.',
  }))
  return {
    ...(input.invalid ? { invalid: input.invalid } : {}),
    name: input.name,
    title: input.title,
    method: input.method,
    machine: input.machine,
    git: gitDescribe(),
    durationSeconds: Math.round((Date.now() - input.startedAt) / 100) / 10,
    figures,
    pass: missed.length === 0,
    missed,
    notes: [...(input.invalid ? [`INVALID RUN, not evidence: ${input.invalid}`] : []), ...(input.notes ?? [])],
    raw: input.raw,
  }
}

export function writeResult(result: BenchResult): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${result.name}.json`)
  const tmp = `${file}.tmp`
  writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n')
  renameSync(tmp, file)
  appendHistory(result)
  return file
}

export interface HistoryEntry {
  date: string
  git: string
  bench: string
  figures: Record<string, number>
  pass: boolean
}

const historyFile = join(resultsDir, 'history.json')
const historyLimit = 60

export function readHistory(): HistoryEntry[] {
  try {
    return JSON.parse(readFileSync(historyFile, 'utf8')) as HistoryEntry[]
  } catch {
    return []
  }
}

/** Every run's judged figures, so BENCHMARKS.md can show before/after across fixes. */
function appendHistory(result: BenchResult): void {
  const figures: Record<string, number> = {}
  for (const f of result.figures) if (f.target) figures[f.key] = f.value
  const history = readHistory()
  history.push({ date: result.machine.date, git: result.git, bench: result.name, figures, pass: result.pass })
  writeFileSync(historyFile, JSON.stringify(history.slice(-historyLimit), null, 2) + '\n')
}

export function newMachine(): Machine {
  return machine()
}
