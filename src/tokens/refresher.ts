import type { Catalogue } from '../catalogue/catalogue.js'
import type { BrokerConfig } from '../config/index.js'
import type { TokenService } from './token-service.js'

/** Refreshes in flight during a prewarm: about the size of the LWA connection pool. */
const prewarmConcurrency = 16

/**
 * The token service's schedule: a background refresh of recently used credentials past
 * their refresh point every `tokens.backgroundRefreshSeconds`, and the prewarm at start-up.
 */
export class Refresher {
  private timer: NodeJS.Timeout | undefined

  private readonly settings: BrokerConfig['tokens']

  constructor(
    private readonly tokens: TokenService,
    private readonly catalogue: Catalogue,
    config: BrokerConfig,
  ) {
    this.settings = config.tokens
  }

  /** Background refresh of recently used credentials past their refresh point; returns how many started. */
  refreshDue(): number {
    return this.tokens.refreshDue(this.settings.idleSeconds * 1000)
  }

  /** Runs refreshDue every `backgroundRefreshSeconds` until stop(); 0 turns it off. */
  start(): void {
    const seconds = this.settings.backgroundRefreshSeconds
    if (seconds === 0 || this.timer) return
    this.timer = setInterval(() => this.refreshDue(), seconds * 1000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Obtains a token for every credential, so the first callers do not wait; failures are logged, not thrown. */
  async prewarm(): Promise<void> {
    // A few at a time: ten thousand refreshes at once would only queue on the LWA pool and
    // hold every answer in memory together.
    const queue = this.catalogue.names()
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const credential = name
        await this.tokens.getToken(credential, 0)
          .catch((err: unknown) => this.tokens.logFailure(credential, err, 'could not pre-warm the token'))
      }
    }
    await Promise.all(Array.from({ length: prewarmConcurrency }, worker))
  }
}
