/** Wall-clock time in milliseconds since the epoch. Injected so expiry is testable without sleeping. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
