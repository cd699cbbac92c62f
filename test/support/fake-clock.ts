import type { Clock } from '../../src/clock.js'

/** A clock that only moves when a test says so. Starts at the real time so real JWTs line up. */
export class FakeClock implements Clock {
  private ms: number

  constructor(startMs = Date.now()) {
    this.ms = startMs
  }

  now(): number {
    return this.ms
  }

  advance(ms: number): void {
    this.ms += ms
  }
}
