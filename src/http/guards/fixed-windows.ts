import type { Memo } from '../../memo.js'

/** What one request took from its key's window. */
export interface WindowTake {
  /** False (and nothing taken) when the window's budget is spent. */
  ok: boolean
  /** What is left of the budget after this request. */
  remaining: number
  /** When the window ends and the budget refills. */
  retryAfterMs: number
}

interface Window {
  startedAtMs: number
  used: number
  /** False once the map no longer holds it (its time ran out, or it was forgotten). */
  live: boolean
}

/**
 * A fixed-window count per key, in this process only, answered synchronously: it sits in
 * front of JWT signature checks and on every warm GET /token, so it must cost less than a
 * promise, let alone a Redis round trip. Bounded: the windows started longest ago are
 * forgotten first.
 */
export class FixedWindows {
  private readonly windows = new Map<string, Window>()
  /** Where a holder's memo keeps its key's window: a request that has one needs no lookup in a map of every caller. */
  private readonly slot = Symbol('window')

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** Takes one from the key's budget of `max` per window; `holder`: a memo that only ever goes with this key. */
  take(key: string, max: number, holder?: Memo): WindowTake {
    const now = this.now()
    const held = holder?.[this.slot] as Window | undefined
    let window = held?.live ? held : this.windows.get(key)
    if (!window || now - window.startedAtMs >= this.windowMs) window = this.open(key, window, now)
    if (holder && window !== held) holder[this.slot] = window
    const retryAfterMs = window.startedAtMs + this.windowMs - now
    if (window.used >= max) return { ok: false, remaining: 0, retryAfterMs }
    window.used++
    return { ok: true, remaining: max - window.used, retryAfterMs }
  }

  private open(key: string, ended: Window | undefined, now: number): Window {
    if (ended) this.forget(key, ended)
    if (this.windows.size >= this.maxKeys) {
      const [oldestKey, oldest] = this.windows.entries().next().value as [string, Window]
      this.forget(oldestKey, oldest)
    }
    const window = { startedAtMs: now, used: 0, live: true }
    this.windows.set(key, window)
    return window
  }

  private forget(key: string, window: Window): void {
    window.live = false
    this.windows.delete(key)
  }
}
