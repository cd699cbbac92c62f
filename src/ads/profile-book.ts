import type { Logger } from 'pino'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { Clock } from '../clock.js'
import type { BrokerConfig, CredentialConfig, Region, RefreshTokenCredential } from '../config/index.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { ForgetReason, TokenService } from '../tokens/index.js'
import type { AdsProfile } from './profiles.js'

export interface ProfileBookDeps {
  catalogue: Catalogue
  /** The tokens callers get: a read uses the cached one, so profiles cost no LWA refresh of their own. */
  tokens: Pick<TokenService, 'getToken' | 'onForget'>
  clock: Clock
  logger: Logger
  /** `GET /v2/profiles` (readAdsProfiles with the Ads settings and pool bound). */
  read(region: Region, accessToken: string, clientId: string): Promise<AdsProfile[]>
  settings: Pick<BrokerConfig['ads'], 'profilesRefreshSeconds' | 'profilesMinRefreshSeconds'>
  /** Seconds the token a read uses must have left (callers' default `min_ttl`). */
  tokenMinTtlSeconds: number
}

/** What is known of one credential's profiles. */
interface Entry {
  profiles: readonly AdsProfile[] | undefined
  ids: ReadonlySet<string>
  readAtMs: number | undefined
  /** The last read's start, whatever its outcome: reads are spaced from it. */
  attemptedAtMs: number
  /** Why the last read failed; cleared by one that works. */
  failure: BrokerError | undefined
  reading: Promise<void> | undefined
}

/** Only an advertiser's own grant reaches profiles: a refresh-token credential of the Ads API. */
const isAds = (config: CredentialConfig | undefined): config is CredentialConfig & RefreshTokenCredential =>
  config?.api === 'ads' && config.grant === 'refresh_token'

/**
 * The profiles each Ads refresh token reaches, read from `GET /v2/profiles`: for the
 * credentials used with a profile or onboarded, on a slow schedule, and on demand when a
 * caller names a profile not yet known, at most once per `profilesMinRefreshSeconds`, so
 * unknown ids cannot make the broker hammer the Ads API. A failed read keeps the list known.
 */
export class ProfileBook {
  private readonly entries = new Map<string, Entry>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly deps: ProfileBookDeps) {
    deps.tokens.onForget((name, why) => this.forget(name, why))
  }

  /** Is the profile one of the credential's, as last read? At once, for the cached path. */
  knows(name: string, profile: string): boolean {
    return this.entries.get(name)?.ids.has(profile) ?? false
  }

  /** The list as last read, and when; undefined when never read. */
  listOf(name: string): { profiles: readonly AdsProfile[]; readAtMs: number } | undefined {
    const entry = this.entries.get(name)
    return entry?.profiles && entry.readAtMs !== undefined
      ? { profiles: entry.profiles, readAtMs: entry.readAtMs }
      : undefined
  }

  /**
   * Resolves when the profile belongs to the credential; else the BrokerError a caller gets:
   * `invalid_request` for a credential that has no profiles, `profile_unknown` for another's profile,
   * or, when the list could not be read, why not.
   */
  async check(name: string, profile: string): Promise<void> {
    if (!isAds(this.deps.catalogue.require(name))) {
      throw new BrokerError('invalid_request', `profile applies only to Ads credentials (refresh_token grant); `
        + `credential ${name} is not one`)
    }
    const entry = this.entryOf(name)
    if (entry.ids.has(profile)) return
    const spaced = this.deps.clock.now() - entry.attemptedAtMs >= this.minRefreshMs
    await (entry.reading ?? (spaced ? this.refresh(name) : undefined))
    const now = this.entries.get(name)
    if (now?.ids.has(profile)) return
    if (now?.failure) throw now.failure
    throw new BrokerError('profile_unknown', `profile ${profile} is not one of credential ${name}'s profiles`)
  }

  /** Reads the list now, joining a read under way; never rejects (a failure is kept and logged). */
  refresh(name: string): Promise<void> {
    const entry = this.entryOf(name)
    entry.reading ??= this.read(name, entry).finally(() => { entry.reading = undefined })
    return entry.reading
  }

  /**
   * A list read elsewhere for this credential's current refresh token (onboarding reads it to
   * learn the account): kept as if read here. Call it after `tokens.reconnected`, which drops the list.
   */
  record(name: string, profiles: readonly AdsProfile[]): void {
    const entry = this.entryOf(name)
    entry.attemptedAtMs = this.deps.clock.now()
    this.keep(entry, profiles)
  }

  /** Starts the reads of lists older than `profilesRefreshSeconds` (never read: at once); returns how many. */
  refreshDue(): number {
    const now = this.deps.clock.now()
    let started = 0
    for (const [name, entry] of this.entries) {
      const stale = entry.readAtMs === undefined || now - entry.readAtMs >= this.refreshMs
      if (!stale || entry.reading || now - entry.attemptedAtMs < this.minRefreshMs) continue
      void this.refresh(name)
      started++
    }
    return started
  }

  /** Looks for due lists every `profilesMinRefreshSeconds`; `profilesRefreshSeconds` 0 turns the schedule off. */
  start(): void {
    if (this.deps.settings.profilesRefreshSeconds === 0 || this.timer) return
    this.timer = setInterval(() => this.refreshDue(), this.minRefreshMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private get refreshMs(): number {
    return this.deps.settings.profilesRefreshSeconds * 1000
  }

  private get minRefreshMs(): number {
    return this.deps.settings.profilesMinRefreshSeconds * 1000
  }

  private entryOf(name: string): Entry {
    let entry = this.entries.get(name)
    if (!entry) this.entries.set(name, (entry = emptyEntry()))
    return entry
  }

  private async read(name: string, entry: Entry): Promise<void> {
    entry.attemptedAtMs = this.deps.clock.now()
    try {
      const config = this.deps.catalogue.get(name)
      if (!isAds(config)) return
      const token = await this.deps.tokens.getToken(name, this.deps.tokenMinTtlSeconds)
      const profiles = await this.deps.read(config.region, token.accessToken, token.clientId)
      // Dropped while reading (reconnected, redeclared): the list may be the previous account's.
      if (this.entries.get(name) === entry) this.keep(entry, profiles)
    } catch (err) {
      entry.failure = isBrokerError(err) ? err : new BrokerError('upstream_unavailable',
        `the Ads API could not list credential ${name}'s profiles; retry later`,
        { retryAfterSeconds: this.deps.settings.profilesMinRefreshSeconds, cause: err })
      this.deps.logger.warn({ credential: name, error: (err as Error).message },
        'could not read the Ads profile list; the list known before still serves')
    }
  }

  private keep(entry: Entry, profiles: readonly AdsProfile[]): void {
    entry.profiles = profiles
    entry.ids = new Set(profiles.map((p) => p.id))
    entry.readAtMs = this.deps.clock.now()
    entry.failure = undefined
  }

  /** A credential connected anew is read again at once; one redeclared or removed keeps nothing. */
  private forget(name: string, why: ForgetReason): void {
    if (why === 'reconnected' && isAds(this.deps.catalogue.get(name))) this.entries.set(name, emptyEntry())
    else this.entries.delete(name)
  }
}

const emptyEntry = (): Entry => ({
  profiles: undefined, ids: new Set(), readAtMs: undefined, attemptedAtMs: -Infinity, failure: undefined,
  reading: undefined,
})
