import type { RedisClient } from '../cache/redis-clients.js'
import { withOnboardingScripts, type OnboardingRedis } from './redis-scripts.js'
import { linkKey, type Link, type OnboardingStore, type OnceKind } from './store.js'

/*
 * Keys carry a digest, never the link or state itself (reading Redis yields nothing usable);
 * the digest is the hash tag, so a link's open and spent keys live in one Cluster slot.
 */
const openKey = (id: string): string => `onboarding:{${linkKey(id)}}:open`
const spentKey = (id: string): string => `onboarding:{${linkKey(id)}}:spent`
const onceKey = (kind: OnceKind, id: string): string => `onboarding:{${kind}:${linkKey(id)}}:once`

/** What is left until `untilMs`, as a Redis TTL; 0 when nothing is. */
const ttlMs = (untilMs: number, nowMs: number): number => Math.max(0, Math.ceil(untilMs - nowMs))

/** A stored value back into a Link; undefined for anything this store did not write. */
function parseLink(value: string | null): Link | undefined {
  if (value === null) return undefined
  let link: unknown
  try {
    link = JSON.parse(value)
  } catch {
    return undefined
  }
  if (typeof link !== 'object' || link === null || typeof (link as Link).expiresAtMs !== 'number') return undefined
  // JSON drops an undefined expectedAccount; the Link type has the property either way.
  return { ...(link as Link), expectedAccount: (link as Link).expectedAccount }
}

/**
 * The OnboardingStore every replica shares: links and single-use marks in Redis, each with
 * a TTL of its expiry, so a link made on one replica opens on another and a state is
 * consumed once across all of them. Taking a link is one script (open → spent), so two
 * replicas racing for it cannot both get it. Every method rejects while Redis is away, with
 * a message naming the operation (the clients fail fast); the caller shows "try again later".
 */
export class RedisOnboardingStore implements OnboardingStore {
  private readonly redis: OnboardingRedis

  /** `commands` carries the deployment's keyPrefix, so keys here are relative. */
  constructor(commands: RedisClient) {
    this.redis = withOnboardingScripts(commands)
  }

  async putLink(id: string, link: Link, nowMs: number): Promise<void> {
    const ms = ttlMs(link.expiresAtMs, nowMs)
    if (ms === 0) return
    await this.run('putLink', () => this.redis.set(openKey(id), JSON.stringify(link), 'PX', ms))
  }

  async peekLink(id: string, nowMs: number): Promise<Link | undefined> {
    const link = parseLink(await this.run('peekLink', () => this.redis.get(openKey(id))))
    return link && nowMs < link.expiresAtMs ? link : undefined
  }

  async takeLink(id: string, nowMs: number): Promise<Link | undefined> {
    return parseLink(await this.run('takeLink', () => this.redis.onboardingMove(openKey(id), spentKey(id), nowMs)))
  }

  async giveBackLink(id: string, nowMs: number): Promise<void> {
    await this.run('giveBackLink', () => this.redis.onboardingMove(spentKey(id), openKey(id), nowMs))
  }

  async once(kind: OnceKind, id: string, untilMs: number, nowMs: number): Promise<boolean> {
    const ms = ttlMs(untilMs, nowMs)
    // A mark that would already have expired guards nothing (as in memory: the next look forgets it).
    if (ms === 0) return true
    return await this.run('once', () => this.redis.set(onceKey(kind, id), '1', 'PX', ms, 'NX')) === 'OK'
  }

  async marked(kind: OnceKind, id: string): Promise<boolean> {
    return await this.run('marked', () => this.redis.exists(onceKey(kind, id))) === 1
  }

  async forget(kind: OnceKind, id: string): Promise<void> {
    await this.run('forget', () => this.redis.del(onceKey(kind, id)))
  }

  /** The library's error stays as the cause, for logs; the message names only the operation. */
  private async run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (err) {
      throw new Error(`onboarding store: Redis did not complete ${operation}`, { cause: err })
    }
  }
}
