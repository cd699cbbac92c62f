// A real redis-server on loopback, owned by one test file, so it can be stopped and
// started again (an outage) without touching anyone else's Redis.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

const startTimeoutMs = 10_000

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

  /** Starts it again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running')
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        this.child = undefined
        child.kill('SIGKILL')
        reject(err)
      }
      child.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT'
        ? new Error('redis-server is not installed: the Redis tests start their own (apt-get install redis-server; npm run test:all installs it)')
        : err))
      child.once('exit', (code) => fail(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)))
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          child.removeAllListeners('exit')
          resolve()
        }
      })
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
    })
  }

  /** Kills it outright, like a crash: connections drop, every key is gone. */
  async stop(): Promise<void> {
    const child = this.child
    if (!child) return
    this.child = undefined
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }
}

async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
