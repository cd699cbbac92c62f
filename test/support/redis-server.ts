// A real redis-server on loopback, owned by one test file, so it can be stopped and
// started again (an outage) without touching anyone else's Redis.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { RedisConnection } from '../../src/cache/index.js'

const startTimeoutMs = 10_000

/** Arguments every test Redis gets: loopback only, nothing persisted. */
export const ephemeralArgs = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes']

export class RedisServer {
  private child: ChildProcess | undefined

  private constructor(readonly port: number) {}

  /** Starts redis-server on a free loopback port; fails with a clear message if it is not installed. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.restart()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get connection(): RedisConnection {
    return { url: this.url }
  }

  /** Starts it again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running')
    this.child = await spawnRedis(['--port', String(this.port), ...ephemeralArgs])
  }

  /** Kills it outright, like a crash: connections drop, every key is gone. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    await kill(child)
  }
}

/** Runs `redis-server <args>` until it logs `readyLine`; its output is in the error if it never does. */
export async function spawnRedis(args: readonly string[], readyLine = 'Ready to accept connections'): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    child.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT'
      ? new Error('redis-server is not installed: the Redis tests start their own (apt-get install redis-server; npm run test:all installs it)')
      : err))
    child.once('exit', (code) => fail(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(readyLine)) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve()
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  })
  return child
}

/** SIGKILL, like a crash, and waits for the exit. */
export async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  // Seen about once in five cluster runs on a loaded machine: the signal is sent but 'exit' never comes, and
  // waiting for it would hang the test's teardown. A SIGKILLed process is gone; give the event two seconds.
  let timer: NodeJS.Timeout | undefined
  await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, 2000) })])
  clearTimeout(timer)
}

export async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
