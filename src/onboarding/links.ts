import { randomBytes } from 'node:crypto'

/** What an admin's one-time link stands for. */
export interface Link {
  credential: string
  expiresAtMs: number
  /** The Amazon account the link may connect; another is refused. */
  expectedAccount: string | undefined
  /** The link may connect another account than the one the credential is connected to. */
  replace: boolean
}

/**
 * One-time links in this process. A link is used up when the browser leaves for Amazon, but
 * kept aside until it expires: when the attempt fails on our side (LWA or Secrets Manager
 * down), it is given back, so "open the link again later" is true.
 */
export class LinkRegistry {
  private readonly open = new Map<string, Link>()
  private readonly spent = new Map<string, Link>()

  create(link: Link, nowMs: number): string {
    this.forgetExpired(nowMs)
    const id = randomBytes(24).toString('base64url')
    this.open.set(id, link)
    return id
  }

  peek(id: string, nowMs: number): Link | undefined {
    const link = this.open.get(id)
    return link && nowMs < link.expiresAtMs ? link : undefined
  }

  /** The link, now used up; undefined if it is not (or no longer) open. */
  take(id: string, nowMs: number): Link | undefined {
    const link = this.peek(id, nowMs)
    if (!link || !this.open.delete(id)) return undefined
    this.spent.set(id, link)
    return link
  }

  /** Gives a used link back (the attempt failed on our side), if it has not expired meanwhile. */
  giveBack(id: string, nowMs: number): void {
    const link = this.spent.get(id)
    if (!link || nowMs >= link.expiresAtMs) return
    this.spent.delete(id)
    this.open.set(id, link)
  }

  private forgetExpired(nowMs: number): void {
    for (const map of [this.open, this.spent]) {
      for (const [id, link] of map) if (nowMs >= link.expiresAtMs) map.delete(id)
    }
  }
}
