import { isDeepStrictEqual } from 'node:util'
import { secretIdsOfCredential, type CredentialConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import type { TaggedCredential, TagProblem } from './tags.js'

/** Where a credential was declared. */
export type CredentialOrigin = 'config' | 'secret'

/** A discovered credential: its secret's ARN, and the credential its tags declare or why they do not. */
export interface DiscoveredCredential {
  arn: string
  tagged: TaggedCredential
}

/** A credential that exists by name: usable, or (discovered with a bad tag) known but misconfigured. */
export interface CatalogueEntry {
  origin: CredentialOrigin
  credential: CredentialConfig | undefined
  /** Why a discovered credential's tags do not declare a usable credential. */
  problem: TagProblem | undefined
  partial: Partial<Pick<CredentialConfig, 'api' | 'region'>>
}

export interface CatalogueChange {
  name: string
  kind: 'added' | 'removed' | 'changed'
}

export interface CatalogueEvents {
  /** A discovered name the config file also declares: the file's wins. Reported once per name while it lasts. */
  nameClash?(name: string, arn: string): void
}

/**
 * The credentials that exist now: the config file's, and those discovered from tagged
 * secrets. Every lookup by name goes through here, so a credential can appear, change and
 * disappear at run time; each change is reported to the listeners (the token service drops
 * what it cached for a changed or removed name, so a name that moves to another secret never
 * serves the old account's token).
 */
export class Catalogue {
  private fixed: ReadonlyMap<string, CatalogueEntry>
  private discovered = new Map<string, CatalogueEntry>()
  private readonly clashes = new Set<string>()
  private readonly listeners: Array<(changes: readonly CatalogueChange[]) => void> = []

  constructor(fromConfig: Readonly<Record<string, CredentialConfig>>, private readonly events: CatalogueEvents = {}) {
    this.fixed = fixedEntries(fromConfig)
  }

  /** A usable credential by name; undefined for an unknown or misconfigured one. */
  get(name: string): CredentialConfig | undefined {
    return (this.fixed.get(name) ?? this.discovered.get(name))?.credential
  }

  /** The usable credential of that name, or the BrokerError a caller allowed to use the name is given. */
  require(name: string): CredentialConfig {
    const credential = this.get(name)
    if (credential) return credential
    const problem = this.discovered.get(name)?.problem
    if (!problem) throw new BrokerError('unknown_credential', `no credential named ${name}`)
    throw new BrokerError('credential_misconfigured',
      `credential ${name} is misconfigured: its secret's tag ${problem.tag} ${problem.message}`)
  }

  /** Is the name known (a caller allowed to use it is told what is wrong rather than `unknown_credential`)? */
  has(name: string): boolean {
    return this.fixed.has(name) || this.discovered.has(name)
  }

  entry(name: string): CatalogueEntry | undefined {
    return this.fixed.get(name) ?? this.discovered.get(name)
  }

  labelsOf(name: string): Readonly<Record<string, string>> | undefined {
    return this.get(name)?.labels
  }

  /** Every name: the config file's in its order, then the discovered ones in listing order. */
  names(): string[] {
    return [...this.fixed.keys(), ...[...this.discovered.keys()].filter((n) => !this.fixed.has(n))]
  }

  /** Every secret id a usable credential reads. */
  secretIds(): string[] {
    const ids = this.names().flatMap((name) => {
      const credential = this.get(name)
      return credential ? secretIdsOfCredential(credential) : []
    })
    return [...new Set(ids)]
  }

  /** How many names each origin declares (a discovered name the file also declares counts once, as config). */
  counts(): Array<{ origin: CredentialOrigin; count: number }> {
    const discovered = [...this.discovered.keys()].filter((n) => !this.fixed.has(n)).length
    return [{ origin: 'config', count: this.fixed.size }, { origin: 'secret', count: discovered }]
  }

  clashCount(): number {
    return this.clashes.size
  }

  onChange(listener: (changes: readonly CatalogueChange[]) => void): void {
    this.listeners.push(listener)
  }

  /** The config file's credentials after a reload. */
  replaceFixed(fromConfig: Readonly<Record<string, CredentialConfig>>): CatalogueChange[] {
    return this.swap(() => {
      this.fixed = fixedEntries(fromConfig, this.fixed)
    })
  }

  /** What a complete listing found: names it no longer holds are gone. */
  replaceDiscovered(listing: readonly DiscoveredCredential[]): CatalogueChange[] {
    return this.swap(() => {
      this.discovered = discoveredEntries(listing)
      this.noteClashes(listing)
    })
  }

  private swap(change: () => void): CatalogueChange[] {
    const before = new Map(this.names().map((name) => [name, this.entry(name)]))
    change()
    const changes: CatalogueChange[] = []
    for (const name of this.names()) {
      const previous = before.get(name)
      const current = this.entry(name)
      if (!previous) changes.push({ name, kind: 'added' })
      // The same object is the same entry: a secret whose tags did not change is not compared again.
      else if (previous !== current && !isDeepStrictEqual(previous, current)) changes.push({ name, kind: 'changed' })
      before.delete(name)
    }
    for (const name of before.keys()) changes.push({ name, kind: 'removed' })
    if (changes.length > 0) for (const listener of this.listeners) listener(changes)
    return changes
  }

  private noteClashes(listing: readonly DiscoveredCredential[]): void {
    const now = new Set<string>()
    for (const { arn, tagged } of listing) {
      if (tagged.name === undefined || !this.fixed.has(tagged.name)) continue
      now.add(tagged.name)
      if (!this.clashes.has(tagged.name)) this.events.nameClash?.(tagged.name, arn)
    }
    this.clashes.clear()
    for (const name of now) this.clashes.add(name)
  }
}

/**
 * An unchanged credential keeps its entry (and settings object) across a reload: what was
 * made with it (a loader, a refresh in flight) is still for the current credential.
 */
function fixedEntries(
  fromConfig: Readonly<Record<string, CredentialConfig>>,
  previous: ReadonlyMap<string, CatalogueEntry> = new Map(),
): Map<string, CatalogueEntry> {
  return new Map(Object.entries(fromConfig).map(([name, credential]) => {
    const kept = previous.get(name)
    if (kept && isDeepStrictEqual(kept.credential, credential)) return [name, kept]
    return [name, { origin: 'config', credential, problem: undefined, partial: credential }]
  }))
}

/** One entry per parsed listing result, so an unchanged secret (the discovery reuses its parse) keeps its entry. */
const entriesOf = new WeakMap<TaggedCredential, CatalogueEntry>()

function entryOf(tagged: TaggedCredential): CatalogueEntry {
  let entry = entriesOf.get(tagged)
  if (!entry) {
    entry = tagged.ok
      ? { origin: 'secret', credential: tagged.credential, problem: undefined, partial: tagged.credential }
      : { origin: 'secret', credential: undefined, problem: tagged.problem, partial: tagged.partial }
    entriesOf.set(tagged, entry)
  }
  return entry
}

/**
 * Two secrets that declare one name are both refused: picking one could serve one
 * account's token under a name another account's owner was told is theirs.
 */
function discoveredEntries(listing: readonly DiscoveredCredential[]): Map<string, CatalogueEntry> {
  const entries = new Map<string, CatalogueEntry>()
  const claimed = new Set<string>()
  for (const { tagged } of listing) {
    if (tagged.name === undefined) continue
    if (claimed.has(tagged.name)) {
      entries.set(tagged.name, {
        origin: 'secret', credential: undefined, partial: {},
        problem: { tag: 'lwa-broker:credential', message: 'is declared by more than one secret' },
      })
      continue
    }
    claimed.add(tagged.name)
    entries.set(tagged.name, entryOf(tagged))
  }
  return entries
}
