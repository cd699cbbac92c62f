import { createHash } from 'node:crypto'

/** A credential the consent will create: the link's description of it (POST /admin/onboarding `create`). */
export interface NewCredential {
  /** A name, or a template with `{account}`, `{region}`, `{api}` filled in once the account is known. */
  name: string
  api: 'ads' | 'sp-api'
  region: 'na' | 'eu' | 'fe'
  /** The secret holding the app's client_id and client_secret. */
  app: string
  /** SP-API: the application the seller authorises, and whether it is a draft (version=beta). */
  applicationId?: string
  draft?: boolean
  /** SP-API: a vendor app (Vendor Central's consent page). */
  vendor?: boolean
  labels: Record<string, string>
}

/** What an admin's one-time link stands for: an existing credential, or one the consent creates. */
export interface Link {
  /** The credential to (re)connect; for a new one, its name or name template. */
  credential: string
  /** Present when the consent creates the credential. */
  create?: NewCredential
  expiresAtMs: number
  /** The Amazon account the link may connect; another is refused. */
  expectedAccount: string | undefined
  /** The link may connect another account than the one the credential is connected to. */
  replace: boolean
}

/** Single-use markers: a consumed `state`, an emitted lifecycle event, a requested client-secret rotation. */
export type OnceKind = 'state' | 'event' | 'rotation'

/**
 * Where one-time links and used states live. In memory for a single replica; in Redis when
 * replicas share one, so a link made on one replica opens on another and a state is
 * consumed once across all of them (src/onboarding/redis-store.ts).
 */
export interface OnboardingStore {
  putLink(id: string, link: Link, nowMs: number): Promise<void>
  /** The open link, without using it up. */
  peekLink(id: string, nowMs: number): Promise<Link | undefined>
  /** Atomically uses the link up (kept aside until it expires); undefined if it was not open. */
  takeLink(id: string, nowMs: number): Promise<Link | undefined>
  /** Gives a used link back: the attempt failed on our side. */
  giveBackLink(id: string, nowMs: number): Promise<void>
  /** True the first time `id` is marked (until `untilMs`); false if it was already. */
  once(kind: OnceKind, id: string, untilMs: number, nowMs: number): Promise<boolean>
  /** Whether `id` is marked, marking nothing (a reloaded finished page says "already used"). */
  marked(kind: OnceKind, id: string, nowMs: number): Promise<boolean>
  /** Unmarks `id`: the attempt it guarded failed on our side. */
  forget(kind: OnceKind, id: string): Promise<void>
}

/** Links are capabilities: stores key them by a digest, so reading the store yields no usable link. */
export const linkKey = (id: string): string => createHash('sha256').update(id).digest('base64url')

/** One replica's store. */
export class MemoryOnboardingStore implements OnboardingStore {
  private readonly open = new Map<string, Link>()
  private readonly spent = new Map<string, Link>()
  private readonly marks = new Map<string, number>()

  async putLink(id: string, link: Link, nowMs: number): Promise<void> {
    this.forgetExpired(nowMs)
    this.open.set(linkKey(id), link)
  }

  async peekLink(id: string, nowMs: number): Promise<Link | undefined> {
    return this.openLink(id, nowMs)
  }

  async takeLink(id: string, nowMs: number): Promise<Link | undefined> {
    // No await between the look and the move: concurrent takers would all see the link open.
    const link = this.openLink(id, nowMs)
    if (!link) return undefined
    this.open.delete(linkKey(id))
    this.spent.set(linkKey(id), link)
    return link
  }

  async giveBackLink(id: string, nowMs: number): Promise<void> {
    const link = this.spent.get(linkKey(id))
    if (!link || nowMs >= link.expiresAtMs) return
    this.spent.delete(linkKey(id))
    this.open.set(linkKey(id), link)
  }

  async once(kind: OnceKind, id: string, untilMs: number, nowMs: number): Promise<boolean> {
    this.forgetExpired(nowMs)
    const key = `${kind}:${id}`
    if (this.marks.has(key)) return false
    this.marks.set(key, untilMs)
    return true
  }

  async marked(kind: OnceKind, id: string, nowMs: number): Promise<boolean> {
    this.forgetExpired(nowMs)
    return this.marks.has(`${kind}:${id}`)
  }

  async forget(kind: OnceKind, id: string): Promise<void> {
    this.marks.delete(`${kind}:${id}`)
  }

  private openLink(id: string, nowMs: number): Link | undefined {
    const link = this.open.get(linkKey(id))
    return link && nowMs < link.expiresAtMs ? link : undefined
  }

  private forgetExpired(nowMs: number): void {
    for (const map of [this.open, this.spent]) {
      for (const [id, link] of map) if (nowMs >= link.expiresAtMs) map.delete(id)
    }
    for (const [key, untilMs] of this.marks) if (nowMs >= untilMs) this.marks.delete(key)
  }
}
