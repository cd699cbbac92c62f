import type { Logger } from 'pino'
import type { CatalogueConfig } from '../config/index.js'
import type { SecretLister, ListFilter } from './aws-lister.js'
import { ThrottledError } from './aws-lister.js'
import type { Catalogue, CatalogueChange, DiscoveredCredential } from './catalogue.js'
import { credentialFromTags, labelTagPrefix, nameTag, type ListedSecret, type TaggedCredential } from './tags.js'

/** A throttled page is tried again after this, doubling... */
const throttleBaseMs = 1000
/** ...up to this; a listing that is throttled this many times in a row gives up until the next interval. */
const throttleMaxMs = 30_000
const throttleAttempts = 6

/** Why a listing ran: its interval, an admin's refresh, a credential onboarding created, another replica's news. */
export type ListingReason = 'interval' | 'admin' | 'onboarding' | 'peer'

export interface DiscoveryDeps {
  lister: SecretLister
  /** Close the lister with the discovery (one made for it, not one a test passed in). */
  ownsLister?: boolean
  catalogue: Catalogue
  settings: CatalogueConfig
  logger: Logger
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Told after a listing that changed something (Redis: the other replicas list at once). */
  changed?: (changes: readonly CatalogueChange[], reason: ListingReason) => void
  events?: DiscoveryEvents
}

export interface DiscoveryEvents {
  listing(result: 'ok' | 'throttled' | 'failed', calls: number, throttled: number): void
}

interface ParsedTags {
  key: string
  tagged: TaggedCredential
}

export interface ListingResult {
  /** Secrets found (any tags), ListSecrets calls made (retries included), and what changed. */
  secrets: number
  calls: number
  changes: CatalogueChange[]
}

/**
 * Keeps the catalogue's discovered credentials in step with Secrets Manager: a complete
 * listing of the tagged secrets on a jittered interval, and on demand. Only a complete
 * listing replaces what is known, so a listing that fails halfway (or is throttled out)
 * removes nothing: a credential disappears only when Secrets Manager says it is gone.
 */
export class Discovery {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<ListingResult> | undefined
  private again: Promise<ListingResult> | undefined
  private stopped = true
  private listed = false
  private readonly unnamed = new Set<string>()
  /** The last complete listing's parse of each secret's tags, by ARN. */
  private parsed = new Map<string, ParsedTags>()

  constructor(private readonly deps: DiscoveryDeps) {}

  /**
   * Has a listing completed (waiting for one under way, starting one if none ever ran)?
   * False when it failed: readiness asks again on its next evaluation.
   */
  async listedOnce(): Promise<boolean> {
    if (this.listed) return true
    return (this.running ?? this.list('interval')).then(() => true, () => false)
  }

  /** The first listing now, then one per (jittered) interval until stop(). */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    void this.tick()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  close(): void {
    this.stop()
    if (this.deps.ownsLister) this.deps.lister.close()
  }

  /**
   * A listing that starts after this call: one already running may have read the pages a
   * new secret is on before it existed, so a forced refresh waits for a fresh one (callers
   * that ask together share it).
   */
  refresh(reason: ListingReason = 'admin'): Promise<ListingResult> {
    if (!this.running) return this.list(reason)
    this.again ??= this.running.catch(() => undefined).then(() => {
      this.again = undefined
      return this.list(reason)
    })
    return this.again
  }

  private async tick(): Promise<void> {
    await this.refresh('interval').catch((err: unknown) =>
      this.deps.logger.warn({ error: (err as Error).message }, 'catalogue listing failed; keeping what was known'))
    if (this.stopped) return
    const { intervalSeconds, jitterRatio } = this.deps.settings
    // Only ever shorter: a new secret is servable within one configured interval (plus the listing itself).
    const jitter = 1 - jitterRatio * (this.deps.random ?? Math.random)()
    this.timer = setTimeout(() => void this.tick(), intervalSeconds * 1000 * jitter)
    this.timer.unref()
  }

  private list(reason: ListingReason): Promise<ListingResult> {
    const run = this.listAll(reason).finally(() => {
      if (this.running === run) this.running = undefined
    })
    this.running = run
    return run
  }

  private async listAll(reason: ListingReason): Promise<ListingResult> {
    const found: DiscoveredCredential[] = []
    const parsed = new Map<string, ParsedTags>()
    const counts = { calls: 0, throttled: 0, secrets: 0 }
    let nextToken: string | undefined
    try {
      do {
        const page = await this.pageWithBackoff(nextToken, counts)
        counts.secrets += page.secrets.length
        for (const secret of page.secrets) if (this.wanted(secret)) found.push(this.discovered(secret, parsed))
        nextToken = page.nextToken
      } while (nextToken)
    } catch (err) {
      this.deps.events?.listing(err instanceof ThrottledError ? 'throttled' : 'failed', counts.calls, counts.throttled)
      throw err
    }
    this.deps.events?.listing('ok', counts.calls, counts.throttled)
    this.listed = true
    this.parsed = parsed
    const changes = this.deps.catalogue.replaceDiscovered(found)
    if (changes.length > 0) {
      this.deps.logger.info({ changes: summary(changes), secrets: counts.secrets }, 'catalogue changed')
      this.deps.changed?.(changes, reason)
    }
    return { secrets: counts.secrets, calls: counts.calls, changes }
  }

  private async pageWithBackoff(
    nextToken: string | undefined,
    counts: { calls: number; throttled: number },
  ): ReturnType<SecretLister['page']> {
    for (let attempt = 1; ; attempt++) {
      counts.calls++
      try {
        return await this.deps.lister.page(this.filters(), nextToken)
      } catch (err) {
        if (!(err instanceof ThrottledError) || attempt >= throttleAttempts) throw err
        counts.throttled++
        const delay = Math.min(throttleBaseMs * 2 ** (attempt - 1), throttleMaxMs)
        await (this.deps.sleep ?? sleep)(delay * (0.5 + (this.deps.random ?? Math.random)() / 2))
      }
    }
  }

  /** ListSecrets narrows by tag key and name prefix; labels are checked here (its tag filters are not paired). */
  private filters(): ListFilter[] {
    const { namePrefix } = this.deps.settings
    const byName: ListFilter[] = namePrefix ? [{ key: 'name', values: [namePrefix] }] : []
    return [{ key: 'tag-key', values: [nameTag] }, ...byName]
  }

  /**
   * A secret's tags as a credential, parsed again only when they changed (10,000 secrets
   * each listing otherwise cost 40 ms of schema checks). A secret whose name tag is unusable
   * names no credential; it is logged once, not every interval.
   */
  private discovered(secret: ListedSecret, parsed: Map<string, ParsedTags>): DiscoveredCredential {
    const key = JSON.stringify(secret.tags)
    const known = this.parsed.get(secret.arn)
    const tagged = known?.key === key ? known.tagged : credentialFromTags(secret)
    parsed.set(secret.arn, { key, tagged })
    if (tagged.name === undefined && !this.unnamed.has(secret.arn)) {
      this.unnamed.add(secret.arn)
      const problem = tagged.ok ? undefined : tagged.problem.message
      this.deps.logger.warn({ secret: secret.name, tag: nameTag, problem },
        'a tagged secret has no usable credential name; it is ignored')
    }
    return { arn: secret.arn, tagged }
  }

  private wanted(secret: ListedSecret): boolean {
    const { namePrefix, labels } = this.deps.settings
    return Object.hasOwn(secret.tags, nameTag)
      && (namePrefix === undefined || secret.name.startsWith(namePrefix))
      && Object.entries(labels).every(([key, value]) => secret.tags[`${labelTagPrefix}${key}`] === value)
  }
}


function summary(changes: readonly CatalogueChange[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { kind } of changes) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref())
