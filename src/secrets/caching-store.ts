import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import {
  SecretError, type CreatedSecret, type NewSecretOptions, type SecretErrorCode, type SecretStage, type SecretValue,
  type VersionedSecretBackend,
} from './secret-store.js'

export interface CachingSecretStoreOptions {
  clock: Clock
  /** How often a cached secret is checked against Secrets Manager. */
  refreshMs: number
  /** Checks fall up to this fraction of `refreshMs` early, so secrets do not re-check in lockstep. */
  jitterRatio?: number
  /** In [0, 1); injectable so tests are deterministic. */
  random?: () => number
  logger: Logger
}

/** What operators see of a cached secret: versions and times, never a value. */
export interface SecretStatus {
  secretId: string
  versionId: string
  /** Last time the value itself was fetched (GetSecretValue or our own PutSecretValue). */
  lastReadAtMs: number
  /** Last check attempt, successful or not. */
  lastCheckAtMs: number
  nextCheckAtMs: number
  /** The last check failed, so the value served may be out of date. */
  stale: boolean
  /** The most recent failed check; kept after recovery so an outage stays visible. */
  lastError?: { code: SecretErrorCode; atMs: number }
}

/** Replaced, never mutated: a check that finds a different Entry than it started with knows it was overtaken. */
interface Entry extends Readonly<Omit<SecretStatus, 'secretId' | 'versionId'>> {
  readonly value: SecretValue
  /** invalidate() was called: gets await a check instead of serving `value`. */
  readonly invalidated: boolean
}

const JITTER_RATIO_DEFAULT = 0.2
const ignore = (): void => {}

/**
 * Caches AWSCURRENT per secret and keeps it fresh with stale-while-revalidate: a due check runs
 * in the background (DescribeSecret, then GetSecretValue only if the version moved) while callers
 * get the cached value at once. A failed check keeps the last good value until the next interval.
 * No timers: the clock is read on `get`, so an idle broker makes no calls and exits cleanly.
 */
export class CachingSecretStore implements VersionedSecretBackend {
  private readonly backend: VersionedSecretBackend
  private readonly clock: Clock
  private readonly refreshMs: number
  private readonly jitterRatio: number
  private readonly random: () => number
  private readonly logger: Logger
  private readonly entries = new Map<string, Entry>()
  /** The check callers join, at most one per secret. */
  private readonly inflight = new Map<string, Promise<SecretValue>>()
  /** Every check still running, including ones invalidate() detached from `inflight`. */
  private readonly running = new Set<Promise<SecretValue>>()

  constructor(backend: VersionedSecretBackend, options: CachingSecretStoreOptions) {
    const { refreshMs, jitterRatio = JITTER_RATIO_DEFAULT } = options
    if (!Number.isFinite(refreshMs) || refreshMs <= 0) {
      throw new TypeError('refreshMs must be a positive number of milliseconds')
    }
    if (!(jitterRatio >= 0 && jitterRatio < 1)) throw new TypeError('jitterRatio must be at least 0 and below 1')
    this.backend = backend
    this.clock = options.clock
    this.refreshMs = refreshMs
    this.jitterRatio = jitterRatio
    this.random = options.random ?? Math.random
    this.logger = options.logger
  }

  /** Only AWSCURRENT is cached; the other stages are read during rotation handling, rarely. */
  async get(secretId: string, stage: SecretStage = 'AWSCURRENT'): Promise<SecretValue> {
    if (stage !== 'AWSCURRENT') return this.backend.get(secretId, stage)
    const entry = this.entries.get(secretId)
    if (!entry || entry.invalidated) return this.check(secretId)
    if (this.clock.now() >= entry.nextCheckAtMs) this.check(secretId).catch(ignore)
    return entry.value
  }

  currentVersionId(secretId: string): Promise<string> {
    return this.backend.currentVersionId(secretId)
  }

  async put(secretId: string, fields: Record<string, unknown>, versionId: string): Promise<SecretValue> {
    const value = await this.backend.put(secretId, fields, versionId)
    return this.accept(secretId, this.entries.get(secretId), value)
  }

  putStaged(secretId: string, fields: Record<string, unknown>, versionId: string, stage: 'AWSPENDING'): Promise<void> {
    if (!this.backend.putStaged) throw new SecretError('unavailable', secretId, 'this secrets backend cannot stage')
    return this.backend.putStaged(secretId, fields, versionId, stage)
  }

  /** The stages moved under the cache: the next get reads what AWSCURRENT is now. */
  async moveStage(secretId: string, stage: SecretStage, move: { to?: string; from?: string }): Promise<void> {
    if (!this.backend.moveStage) throw new SecretError('unavailable', secretId, 'this secrets backend cannot stage')
    await this.backend.moveStage(secretId, stage, move)
    this.invalidate(secretId)
  }

  /** Created secrets are cached under their ARN: the id discovery gives their credential. */
  async create(name: string, fields: Record<string, unknown>, options: NewSecretOptions): Promise<CreatedSecret> {
    if (!this.backend.create) throw new SecretError('unavailable', name, 'this secrets backend cannot create secrets')
    const created = await this.backend.create(name, fields, options)
    this.accept(created.arn, undefined, created)
    return created
  }

  /** What is cached for the secret, without reading it (authorization deadlines). */
  peek(secretId: string): SecretValue | undefined {
    return this.entries.get(secretId)?.value
  }

  /**
   * The next get awaits a check (and throws if it fails) instead of serving the cache: LWA
   * rejected the secret, so it may have rotated. With `rejectedVersionId`, a cache that has
   * already moved past that version is left alone, so a burst of rejections costs one check.
   */
  invalidate(secretId: string, rejectedVersionId?: string): void {
    const entry = this.entries.get(secretId)
    if (!entry || entry.invalidated) return
    if (rejectedVersionId !== undefined && rejectedVersionId !== entry.value.versionId) return
    // A check already running may have asked before the rotation: detach it so the next get starts afresh.
    this.inflight.delete(secretId)
    this.entries.set(secretId, { ...entry, invalidated: true })
  }

  status(): SecretStatus[] {
    return [...this.entries].map(([secretId, e]) => ({
      secretId,
      versionId: e.value.versionId,
      lastReadAtMs: e.lastReadAtMs,
      lastCheckAtMs: e.lastCheckAtMs,
      nextCheckAtMs: e.nextCheckAtMs,
      stale: e.stale,
      ...(e.lastError && { lastError: { ...e.lastError } }),
    }))
  }

  /** Resolves once no check is running; for tests and orderly shutdown. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled(this.running)
  }

  async close(): Promise<void> {
    await this.backend.close()
  }

  private check(secretId: string): Promise<SecretValue> {
    const joined = this.inflight.get(secretId)
    if (joined) return joined
    const flight: Promise<SecretValue> = this.revalidate(secretId).finally(() => {
      if (this.inflight.get(secretId) === flight) this.inflight.delete(secretId)
      this.running.delete(flight)
    })
    this.inflight.set(secretId, flight)
    this.running.add(flight)
    return flight
  }

  private async revalidate(secretId: string): Promise<SecretValue> {
    const before = this.entries.get(secretId)
    try {
      const value = await this.read(secretId, before)
      return this.overtaken(secretId, before) ?? this.accept(secretId, before, value)
    } catch (err) {
      const newer = this.overtaken(secretId, before)
      if (newer) return newer
      if (before) this.reject(secretId, before, err)
      throw err
    }
  }

  /** DescribeSecret is cheap and decrypts nothing; GetSecretValue only when the version moved. */
  private async read(secretId: string, cached: Entry | undefined): Promise<SecretValue> {
    if (cached && (await this.backend.currentVersionId(secretId)) === cached.value.versionId) return cached.value
    return this.backend.get(secretId)
  }

  /** A put() or invalidate() during the read makes our answer older than what the cache holds. */
  private overtaken(secretId: string, before: Entry | undefined): SecretValue | undefined {
    const now = this.entries.get(secretId)
    return now !== before ? now?.value : undefined
  }

  private accept(secretId: string, before: Entry | undefined, value: SecretValue): SecretValue {
    const now = this.clock.now()
    this.entries.set(secretId, {
      value,
      lastReadAtMs: before && before.value === value ? before.lastReadAtMs : now,
      lastCheckAtMs: now,
      nextCheckAtMs: this.nextCheckAt(now),
      stale: false,
      invalidated: false,
      ...(before?.lastError && { lastError: before.lastError }),
    })
    return value
  }

  /** Keeps the last good value and waits a full interval: no retry storm while Secrets Manager is down. */
  private reject(secretId: string, before: Entry, err: unknown): void {
    const now = this.clock.now()
    const reason = err instanceof SecretError ? err.code : 'unavailable'
    this.entries.set(secretId, {
      ...before,
      lastCheckAtMs: now,
      nextCheckAtMs: this.nextCheckAt(now),
      stale: true,
      invalidated: false,
      lastError: { code: reason, atMs: now },
    })
    // SecretError messages name the secret and the AWS error, never a value.
    const detail = err instanceof SecretError ? err.message : undefined
    this.logger.warn(
      { secretId, versionId: before.value.versionId, reason, detail },
      'secret check failed; serving the last good version',
    )
  }

  private nextCheckAt(now: number): number {
    return now + this.refreshMs * (1 - this.jitterRatio * this.random())
  }
}
