/** Callers tracked at once; past this, further callers' 429s are counted under one overflow entry. */
const maxTrackedCallers = 10_000

interface Window {
  startedAtMs: number
  count: number
  /** What the line says about the caller (first request of the window). */
  fields: Record<string, unknown>
}

/**
 * Folds a caller's 429s into one audit line per rate-limit window with a count, so a caller
 * hammering a closed door writes a line a minute, not a line a request. The line is written
 * when the window ends (or at close); a window is the rate limiter's own.
 */
export class RateLimitAudit {
  private readonly windows = new Map<string, Window>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly write: (fields: Record<string, unknown>, count: number) => void,
  ) {}

  record(callerKey: string, fields: Record<string, unknown>): void {
    const now = this.now()
    const key = this.windows.has(callerKey) || this.windows.size < maxTrackedCallers ? callerKey : '(overflow)'
    const open = this.windows.get(key)
    if (open && now - open.startedAtMs < this.windowMs) {
      open.count++
      return
    }
    if (open) this.emit(key, open)
    this.windows.set(key, {
      startedAtMs: now,
      count: 1,
      fields: key === callerKey ? fields : { callerSubject: '(many callers)' },
    })
    this.timer ??= setInterval(() => this.flush(false), this.windowMs).unref()
  }

  /** Writes the windows that have ended (all of them at close). */
  flush(all = true): void {
    const now = this.now()
    for (const [key, window] of this.windows) {
      if (all || now - window.startedAtMs >= this.windowMs) this.emit(key, window)
    }
    if (this.windows.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private emit(key: string, window: Window): void {
    this.windows.delete(key)
    this.write(window.fields, window.count)
  }
}
