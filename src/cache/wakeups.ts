/** Sleepers per key that a message can wake before their time (waiters for a credential's token). */
export class Wakeups {
  private readonly sleepers = new Map<string, Set<() => void>>()

  /** Resolves after `ms`, or sooner on wake(key). */
  sleep(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.sleepers.get(key)
      if (!set) this.sleepers.set(key, (set = new Set()))
      const sleepers = set
      const wake = (): void => {
        clearTimeout(timer)
        sleepers.delete(wake)
        if (sleepers.size === 0 && this.sleepers.get(key) === sleepers) this.sleepers.delete(key)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      sleepers.add(wake)
    })
  }

  wake(key: string): void {
    for (const wake of [...(this.sleepers.get(key) ?? [])]) wake()
  }

  wakeAll(): void {
    for (const key of [...this.sleepers.keys()]) this.wake(key)
  }
}
