import type { Clock } from '../clock.js'
import { SecretError, type SecretErrorCode, type SecretStore } from './secret-store.js'

export interface SecretSweepOptions {
  secrets: SecretStore
  /** The secret ids to have read (every credential's app and grant secrets). */
  ids: () => readonly string[]
  clock: Clock
  /** A secret that does not exist or is malformed is read again after this long, not at every pass. */
  retryMs: number
  /** Reads in flight at once during a pass. */
  concurrency: number
}

/** Why a secret could not be read, as readiness and credential status report it. */
export interface SecretProblem {
  code: SecretErrorCode
  message: string
  atMs: number
  /** When the sweep reads it again. */
  retryAtMs: number
}

/**
 * Reads every configured secret once in the background, so a missing or broken secret is
 * reported per credential (status, metrics) without anyone asking for a token, and without
 * holding every other credential hostage: readiness only needs the backend to answer. A
 * secret read once is left to the secret store's own freshness checks from then on.
 */
export class SecretSweep {
  private readonly options: SecretSweepOptions
  private readonly read = new Set<string>()
  private readonly problems = new Map<string, SecretProblem>()
  private answered = false

  constructor(options: SecretSweepOptions) {
    this.options = options
  }

  /**
   * One pass over the secrets not yet read whose retry time has come. A backend that is
   * down (every read of the pass so far failed to reach it) ends the pass early: ten
   * thousand reads that will all fail would only add to its trouble.
   */
  async run(): Promise<void> {
    const now = this.options.clock.now()
    const due = this.options.ids().filter((id) => !this.read.has(id) && (this.problems.get(id)?.retryAtMs ?? 0) <= now)
    const pass = { reached: false, unreachable: 0 }
    const worker = async (): Promise<void> => {
      for (let id = due.shift(); id !== undefined; id = due.shift()) {
        if (!pass.reached && pass.unreachable >= this.options.concurrency) return
        if (await this.readOne(id)) pass.reached = true
        else pass.unreachable++
      }
    }
    await Promise.all(Array.from({ length: this.options.concurrency }, worker))
  }

  /** The backend has answered at least once (a value, or "no such secret"), or there is nothing to read. */
  reachable(): boolean {
    return this.answered || this.options.ids().length === 0
  }

  problem(secretId: string): SecretProblem | undefined {
    return this.problems.get(secretId)
  }

  /** Every secret that could not be read, for the readiness log line. */
  allProblems(): Array<SecretProblem & { secretId: string }> {
    return [...this.problems].map(([secretId, p]) => ({ secretId, ...p }))
  }

  /** Whether the backend answered (with the value, or "no such secret"). */
  private async readOne(id: string): Promise<boolean> {
    const now = this.options.clock.now()
    try {
      await this.options.secrets.get(id)
      this.read.add(id)
      this.problems.delete(id)
      this.answered = true
      return true
    } catch (err) {
      const code = err instanceof SecretError ? err.code : 'unavailable'
      const message = err instanceof SecretError ? err.message : `secret ${id}: ${(err as Error).name}`
      // An unreachable backend is tried again at the next pass; a wrong secret only after retryMs.
      const retryAtMs = code === 'unavailable' ? now : now + this.options.retryMs
      this.problems.set(id, { code, message, atMs: now, retryAtMs })
      // "Not found" and "not JSON" are answers: the backend is there, this secret is wrong.
      if (code !== 'unavailable') this.answered = true
      return code !== 'unavailable'
    }
  }
}
