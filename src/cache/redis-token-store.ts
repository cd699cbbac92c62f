import { randomBytes, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Clock } from '../clock.js'
import type { BrokerToken, PeerEvent, SharedTokenStore } from '../tokens/index.js'
import type { PeerMessage, PeerSigner } from './peer-messages.js'
import type { RedisClient } from './redis-clients.js'
import { storedSeparator, withScripts, type ScriptedRedis } from './scripts.js'
import type { TokenCipher } from './token-cipher.js'
import { Wakeups } from './wakeups.js'

/** Waiters look again this often, in case the "stored" message was missed. */
export const waitPollMs = 50
/**
 * A waiter gives up after this share of its budget, so a lock holder that died (its lock
 * outlives it) still leaves the caller time to refresh locally within its deadline.
 */
export const waitBudgetShare = 0.5
/** A subscription refused by a connected client is tried again this soon. */
const subscribeRetryMs = 100

export interface RedisTokenStoreOptions {
  /** Carries the deployment's keyPrefix, so keys here are relative. */
  commands: RedisClient
  subscriber: RedisClient
  /** The pub/sub channel (not prefixed by the client: give it in full). */
  channel: string
  cipher: TokenCipher
  /** Signs what this replica publishes and checks what it hears. */
  signer: PeerSigner
  /** The longest a refresh lock may be held; a lock that outlives it was not set by a replica. */
  maxLockTtlMs: number
  /** The broker's clock: a token's Redis TTL is what is left of it by this clock. */
  clock: Clock
  /** Told when the subscription is in place, or lost. */
  onListening?: (listening: boolean) => void
}

/*
 * The credential's name is the keys' hash tag: a Redis Cluster puts a token and its lock in one
 * slot, so the scripts that read both run there (elsewhere the braces are only characters).
 */
const tokenKey = (credential: string): string => `token:{${credential}}`
const lockKey = (credential: string): string => `lock:{${credential}}`

/**
 * The SharedTokenStore on Redis: tokens sealed (AES-256-GCM) with TTL = their expiry, the
 * newer of two always kept; refresh locks with a fencing value only their owner can
 * release; peer events on one pub/sub channel. Every method rejects while Redis is away
 * (the clients fail fast); the token service then works alone.
 */
export class RedisTokenStore implements SharedTokenStore {
  /** Tells this store's messages from other replicas'. */
  readonly senderId = randomUUID()
  private readonly commands: ScriptedRedis
  private readonly options: RedisTokenStoreOptions
  private readonly listeners: Array<(event: PeerEvent) => void> = []
  private readonly waiters = new Wakeups()
  private subscribed = false
  /** Per credential, the obtainedAtMs of the token last read here (0: none). */
  private readonly seen = new Map<string, number>()

  constructor(options: RedisTokenStoreOptions) {
    this.options = options
    this.commands = withScripts(options.commands)
    const { subscriber, channel } = options
    // Subscribed again on every (re)connection: nothing is queued while Redis is away.
    const listen = (): void => void subscriber.subscribe(channel).then(() => this.setListening(true), () => {
      // A Cluster can be ready before it has picked the node its subscription goes to.
      if (subscriber.status === 'ready') setTimeout(listen, subscribeRetryMs).unref()
    })
    subscriber.on('ready', listen)
    subscriber.on('close', () => this.setListening(false))
    subscriber.on('message', (on: string, text: string) => {
      if (on === channel) this.onMessage(text)
    })
  }

  /** Whether peer messages reach this store (the subscription is in place). */
  listening(): boolean {
    return this.subscribed
  }

  async get(credential: string): Promise<BrokerToken | undefined> {
    const stored = await this.commands.get(tokenKey(credential))
    const token = stored ? this.open(credential, stored) : undefined
    this.seen.set(credential, token?.obtainedAtMs ?? 0)
    return token
  }

  async put(credential: string, token: BrokerToken): Promise<void> {
    const ttlMs = Math.floor(token.expiresAtMs - this.options.clock.now())
    if (ttlMs <= 0) return
    const value = `${token.obtainedAtMs}${storedSeparator}${this.options.cipher.seal(credential, token)}`
    if (await this.commands.lwaPutNewer(tokenKey(credential), token.obtainedAtMs, value, ttlMs) === 1) {
      // Waiters also poll: a lost message only slows them down.
      await this.send({ kind: 'token_stored', credential }).catch(() => {})
    }
  }

  /**
   * Refused also when a token newer than the one last read here has been stored since:
   * that refresh already happened, and the caller then waits for (finds) it at once.
   */
  async lock(credential: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const fence = randomBytes(16).toString('base64url')
    // Never read here: nothing to compare with, so no reason to refuse.
    const seenAtMs = this.seen.get(credential) ?? Number.MAX_SAFE_INTEGER
    const taken = await this.commands.lwaLockUnlessNewer(
      lockKey(credential), tokenKey(credential), fence, Math.ceil(ttlMs), seenAtMs, this.options.maxLockTtlMs,
    )
    if (taken !== 1) return undefined
    return async () => {
      await this.commands.lwaReleaseIfOwner(lockKey(credential), fence)
    }
  }

  /** Returns early, without a token, once no refresh is under way (its holder gave up). */
  async waitFor(credential: string, newerThanMs: number, timeoutMs: number): Promise<BrokerToken | undefined> {
    const deadline = performance.now() + timeoutMs * waitBudgetShare
    for (;;) {
      const [stored, locked] = await this.commands.lwaPeek(
        tokenKey(credential), lockKey(credential), this.options.maxLockTtlMs,
      )
      const token = stored ? this.open(credential, stored) : undefined
      this.seen.set(credential, token?.obtainedAtMs ?? 0)
      if (token && token.obtainedAtMs > newerThanMs) return token
      const leftMs = deadline - performance.now()
      if (locked !== 1 || leftMs <= 0) return undefined
      await this.waiters.sleep(credential, Math.min(waitPollMs, leftMs))
    }
  }

  async drop(credential: string): Promise<void> {
    await this.commands.del(tokenKey(credential))
  }

  /** SET NX with a TTL: true only for the first replica (and the first time) to claim `key`. */
  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    return (await this.commands.set(key, '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK'
  }

  async publish(event: PeerEvent): Promise<void> {
    await this.send(event)
  }

  subscribe(listener: (event: PeerEvent) => void): void {
    this.listeners.push(listener)
  }

  /** Closes both connections (quit, or cut if Redis is away). */
  async close(): Promise<void> {
    this.waiters.wakeAll()
    await Promise.all([this.options.commands, this.options.subscriber]
      .map((client) => client.quit().catch(() => client.disconnect())))
  }

  private setListening(subscribed: boolean): void {
    if (subscribed === this.subscribed) return
    this.subscribed = subscribed
    this.options.onListening?.(subscribed)
  }

  private open(credential: string, stored: string): BrokerToken {
    const sealed = stored.slice(stored.indexOf(storedSeparator) + 1)
    return this.options.cipher.open(credential, sealed)
  }

  private async send(message: PeerMessage): Promise<void> {
    await this.commands.publish(this.options.channel, this.options.signer.encode(this.senderId, message))
  }

  private onMessage(text: string): void {
    const decoded = this.options.signer.decode(text)
    if (!decoded || decoded.from === this.senderId) return
    const { message } = decoded
    if (message.kind === 'token_stored') {
      this.waiters.wake(message.credential)
      return
    }
    for (const listener of this.listeners) listener(message)
  }
}
