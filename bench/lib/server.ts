import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childEntry } from './child-build.js'
import { hasTaskset } from './machine.js'
import { repoDir } from './results.js'
import type { ChildReply, ChildRequest, ServerSpec, StartupTimings, Usage, WarmResult } from './server-protocol.js'

/** The core the server child runs on; the load generator (this process) takes the other. */
const serverCore = 0
const loadCore = 1

let pinnedSelf = false

/** Pins this process (all its threads) to the load generator's core, once. */
export function pinLoadGenerator(): void {
  if (pinnedSelf || !hasTaskset()) return
  pinnedSelf = true
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(loadCore), String(process.pid)], { stdio: 'ignore' })
  } catch {
    // Not fatal: the figures are ratios measured under the same conditions either way.
  }
}

export interface ServerHandle {
  url: string
  port: number
  pid: number
  startup: StartupTimings
  usage(): Promise<Usage>
  /** Usage after a full GC (the child runs with --expose-gc). */
  gcUsage(): Promise<Usage>
  /** GET /metrics of the broker's ops listener over HTTP from this process, as Prometheus scrapes it; the length of its text. */
  scrape(): Promise<number>
  warm(): Promise<WarmResult>
  /** With BENCH_CPU_PROF set: CPU-profile the child from now until profileStop (the measured rounds only). */
  profileStart(): Promise<void>
  /** Bytes the child wrote to stdout and stderr so far (its logs), which this process drains as a container runtime would. */
  logBytes(): number
  /** Writes <tmp>/lwa-broker-bench-profiles/<name>.cpuprofile (or into BENCH_CPU_PROF when it names a directory); returns the path. */
  profileStop(name: string): Promise<string | undefined>
  /** With BENCH_HEAP_SNAPSHOT set (1 or a directory): a heap snapshot of the child now; returns the path. */
  heapSnapshot(name: string): Promise<string | undefined>
  close(): Promise<void>
}

/** Profiles go here when BENCH_CPU_PROF=1 (a temporary directory) or BENCH_CPU_PROF=<directory> is set. */
const profileDir = (): string | undefined => outputDir(process.env.BENCH_CPU_PROF)

/** `1`: a directory in $TMPDIR; anything else names the directory; unset: none. */
function outputDir(setting: string | undefined): string | undefined {
  if (!setting) return undefined
  const dir = setting === '1' ? join(tmpdir(), 'lwa-broker-bench-profiles') : setting
  mkdirSync(dir, { recursive: true })
  return dir
}

const dockerfile = (): string => readFileSync(join(repoDir, 'Dockerfile'), 'utf8')

/**
 * The V8 flags the container image runs the broker with (the Dockerfile's NODE_OPTIONS, and the
 * flags its CMD gives node: those NODE_OPTIONS does not allow): children run as production does.
 */
export function imageNodeOptions(): string[] {
  const file = dockerfile()
  const options = (/NODE_OPTIONS="([^"]*)"/.exec(file)?.[1] ?? '').split(/\s+/)
  const command = JSON.parse(/^CMD (\[.*\])$/m.exec(file)?.[1] ?? '[]') as string[]
  return [...options, ...command.filter((arg) => arg.startsWith('--'))].filter(Boolean)
}

/** glibc malloc's tuning the image sets (the Dockerfile's MALLOC_* variables): children's native memory is managed as production's. */
export function imageMallocEnv(): Record<string, string> {
  return Object.fromEntries([...dockerfile().matchAll(/\b(MALLOC_[A-Z_]+)=(\d+)/g)].map((m) => [m[1] as string, m[2] as string]))
}

/** `root`: the checkout whose broker to run (default this one; a baseline worktree to compare with). */
export async function startServer(spec: ServerSpec, root?: string): Promise<ServerHandle> {
  const entry = childEntry(root)
  const defaultsV8 = spec.kind === 'broker' && spec.ablate?.v8 === 'defaults'
  const nodeArgs = ['--expose-gc', ...(defaultsV8 ? [] : imageNodeOptions()), ...entry.args]
  const pin = hasTaskset()
  // The child's stdout and stderr are pipes this process drains, as a container runtime reads a
  // container's: the broker pays for its logs as it would in production, never /dev/null.
  const stdio: ['ignore', 'pipe', 'pipe', 'ipc'] = ['ignore', 'pipe', 'pipe', 'ipc']
  const options = { cwd: repoDir, stdio, env: { ...process.env, ...imageMallocEnv() } }
  const child = pin
    ? spawn('taskset', ['-c', String(serverCore), process.execPath, ...nodeArgs], options)
    : spawn(process.execPath, nodeArgs, options)
  let logBytes = 0
  const errors: string[] = []
  child.stdout?.on('data', (chunk: Buffer) => { logBytes += chunk.length })
  child.stderr?.on('data', (chunk: Buffer) => {
    logBytes += chunk.length
    if (errors.join('').length < 4096) errors.push(chunk.toString('utf8'))
  })
  child.once('exit', (code) => {
    if (code && errors.length) process.stderr.write(`server child exited ${code}:\n${errors.join('')}\n`)
  })
  const ipc = new Ipc(child)
  await ipc.loaded
  const { port, timings } = await ipc.call({ type: 'start', spec }) as { port: number; timings: StartupTimings }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    startup: timings,
    usage: () => ipc.call({ type: 'usage' }) as Promise<Usage>,
    gcUsage: () => ipc.call({ type: 'gc-usage' }) as Promise<Usage>,
    scrape: async () => {
      const answer = await fetch(`${await ipc.call({ type: 'ops-url' }) as string}/metrics`)
      if (answer.status !== 200) throw new Error(`scrape: ${answer.status}`)
      return (await answer.arrayBuffer()).byteLength
    },
    warm: () => ipc.call({ type: 'warm' }) as Promise<WarmResult>,
    logBytes: () => logBytes,
    profileStart: async () => {
      if (profileDir()) await ipc.call({ type: 'profile-start' })
    },
    profileStop: async (name) => {
      const dir = profileDir()
      return dir ? ipc.call({ type: 'profile-stop', file: join(dir, `${name}.cpuprofile`) }) as Promise<string> : undefined
    },
    heapSnapshot: async (name) => {
      const dir = outputDir(process.env.BENCH_HEAP_SNAPSHOT)
      return dir ? ipc.call({ type: 'heap-snapshot', file: join(dir, `${name}.heapsnapshot`) }) as Promise<string> : undefined
    },
    close: () => ipc.close(),
  }
}

class Ipc {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly exited: Promise<void>
  readonly loaded: Promise<void>

  constructor(private readonly child: ChildProcess) {
    let onLoaded: () => void = () => {}
    this.loaded = new Promise<void>((resolve) => { onLoaded = resolve })
    child.on('message', (reply: ChildReply) => {
      if (reply.id === 0) return onLoaded()
      const waiter = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (reply.ok) waiter?.resolve(reply.result)
      else waiter?.reject(new Error(`server child: ${reply.error}`))
    })
    this.exited = new Promise((resolve) => child.once('exit', () => {
      for (const w of this.pending.values()) w.reject(new Error('server child exited'))
      this.pending.clear()
      resolve()
    }))
    const failed = this.exited.then(() => { throw new Error('server child exited before it loaded') })
    this.loaded = Promise.race([this.loaded, failed])
    failed.catch(() => {})
  }

  call(request: ChildRequest): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.child.send({ ...request, id })
    })
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return
    await this.call({ type: 'exit' }).catch(() => {})
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await this.exited
    clearTimeout(timer)
  }
}
