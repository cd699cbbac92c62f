/** What one request took from its key's window. */
export interface WindowTake {
  /** False (and nothing taken) when the window's budget is spent. */
  ok: boolean
  /** What is left of the budget after this request. */
  remaining: number
  /** When the window ends and the budget refills. */
  retryAfterMs: number
}

/**
 * A fixed-window count per key, in this process only, answered synchronously: it sits in
 * front of JWT signature checks and on every warm GET /token, so it must cost less than a
 * promise, let alone a Redis round trip. Bounded: the windows started longest ago are
 * forgotten first.
 */
export class FixedWindows {
  private readonly windows = new Map<string, { startedAtMs: number; used: number }>()

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** Takes one from the key's budget of `max` per window. */
  take(key: string, max: number): WindowTake {
    const now = this.now()
    let window = this.windows.get(key)
    if (!window || now - window.startedAtMs >= this.windowMs) {
      this.windows.delete(key)
      window = { startedAtMs: now, used: 0 }
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value as string)
      this.windows.set(key, window)
    }
    const retryAfterMs = window.startedAtMs + this.windowMs - now
    if (window.used >= max) return { ok: false, remaining: 0, retryAfterMs }
    window.used++
    return { ok: true, remaining: max - window.used, retryAfterMs }
  }
}
