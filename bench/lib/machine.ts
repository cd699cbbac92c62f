import { cpus, loadavg, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'

export interface Machine {
  cores: number
  cpu: string
  node: string
  platform: string
  memoryGiB: number
  date: string
  /** 1-minute load average when the benchmark started: a noisy, shared machine shows here. */
  loadAverage1m: number
  /** Whether the server child and the load generator were each pinned to a core (taskset). */
  pinned: boolean
}

let tasksetAvailable: boolean | undefined

/** `taskset` lets the server child and the load generator each own one of the two cores. */
export function hasTaskset(): boolean {
  if (tasksetAvailable === undefined) {
    tasksetAvailable = ['/usr/bin/taskset', '/bin/taskset'].some((p) => {
      try {
        readFileSync(p)
        return true
      } catch {
        return false
      }
    })
  }
  return tasksetAvailable
}

export function machine(): Machine {
  const info = cpus()
  return {
    cores: info.length,
    cpu: info[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pinned: hasTaskset() && info.length >= 2,
  }
}

export function machineLine(m: Machine): string {
  return `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average ${m.loadAverage1m} at start; ` +
    `${m.pinned ? 'server child and load generator pinned to one core each' : 'not pinned'}; ${m.date}`
}
