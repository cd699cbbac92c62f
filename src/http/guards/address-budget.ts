/**
 * A fixed-window count per client address, in this process only: it sits in front of JWT
 * signature checks, so it must cost less than one (no Redis round trip). Bounded: the
 * oldest addresses are forgotten first.
 */
export class AddressBudget {
  private readonly windows = new Map<string, { startedAtMs: number; used: number }>()

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxAddresses: number,
    private readonly now: () => number,
  ) {}

  /** Takes one from the address's budget; false (and nothing taken) when it is spent. Also says when it refills. */
  take(address: string): { ok: boolean; retryAfterMs: number } {
    const now = this.now()
    let window = this.windows.get(address)
    if (!window || now - window.startedAtMs >= this.windowMs) {
      this.windows.delete(address)
      window = { startedAtMs: now, used: 0 }
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value as string)
      this.windows.set(address, window)
    }
    const retryAfterMs = window.startedAtMs + this.windowMs - now
    if (window.used >= this.max) return { ok: false, retryAfterMs }
    window.used++
    return { ok: true, retryAfterMs }
  }
}
