import type { Logger } from 'pino'
import { Cluster, type Redis } from 'ioredis'
import { clientReady, type RedisClient } from './redis-clients.js'

/**
 * Whether the shared cache is usable (every connection ready), logged once per change
 * rather than once per failed reconnect: a Redis outage is one warning and one recovery.
 */
export class ConnectionWatch {
  private readonly clients: readonly RedisClient[]
  private readonly logger: Logger
  private state: 'up' | 'down' | undefined
  private lastError: string | undefined
  private stopped = false
  private readonly onUp = new Set<() => void>()
  private readonly extra: () => boolean

  /** `extra`: what else must hold to count as up (the pub/sub subscription is in place). */
  constructor(clients: readonly RedisClient[], logger: Logger, extra: () => boolean) {
    this.clients = clients
    this.logger = logger
    this.extra = extra
    for (const client of clients) {
      // Without an 'error' listener ioredis reports every failed reconnect on the console.
      client.on('error', (err: Error) => {
        this.lastError = err.message
        this.recheck()
      })
      for (const event of ['ready', 'close', 'end']) client.on(event, () => this.recheck())
      // A cluster is usable while every master is: a master lost is an outage until its replica takes over.
      if (client instanceof Cluster) {
        client.on('+node', (node: Redis) => {
          for (const event of ['ready', 'close']) node.on(event, () => this.recheck())
        })
        client.on('-node', () => this.recheck())
      }
    }
  }

  up(): boolean {
    return this.clients.every(clientReady) && this.extra()
  }

  /** Resolves true once every connection is ready, or false after `timeoutMs`. */
  whenUp(timeoutMs: number): Promise<boolean> {
    if (this.up()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (up: boolean): void => {
        clearTimeout(timer)
        this.onUp.delete(ready)
        resolve(up)
      }
      const ready = (): void => done(true)
      const timer = setTimeout(() => done(false), timeoutMs)
      this.onUp.add(ready)
    })
  }

  /** Closing on purpose is not an outage. */
  stop(): void {
    this.stopped = true
  }

  /** Looks again (a connection or the subscription changed). */
  recheck(): void {
    if (this.stopped) return
    const next = this.up() ? 'up' : 'down'
    if (next === 'up') for (const ready of [...this.onUp]) ready()
    // Before the first connection, a 'close' is only the connect attempt under way.
    if (next === this.state || (this.state === undefined && next === 'down' && this.lastError === undefined)) return
    this.state = next
    if (next === 'up') {
      this.logger.info({ sharedCache: 'up' }, 'shared cache (Redis) reachable: tokens, refresh locks and rate limits '
        + 'are shared with the other replicas')
    } else {
      this.logger.warn({ sharedCache: 'down', error: this.lastError }, 'shared cache (Redis) unreachable: serving from '
        + 'this replica alone (own tokens, own rate limits) until it returns')
    }
  }
}
