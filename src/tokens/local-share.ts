import type { BrokerToken } from './token-source.js'
import type { PeerEvent, SharedTokenStore } from './shared-store.js'

/**
 * The shared-token port for a replica on its own (cache.backend memory): nothing is shared,
 * every lock is granted at once, nobody else is listening. With it the token service runs
 * the same code path alone as with Redis, instead of branching on whether peers exist.
 */
export class LocalTokenShare implements SharedTokenStore {
  async get(): Promise<BrokerToken | undefined> {
    return undefined
  }

  async put(): Promise<void> {}

  async lock(): Promise<() => Promise<void>> {
    return release
  }

  async waitFor(): Promise<BrokerToken | undefined> {
    return undefined
  }

  async drop(): Promise<void> {}

  async publish(_event: PeerEvent): Promise<void> {}

  subscribe(): void {}

  async close(): Promise<void> {}
}

const release = async (): Promise<void> => {}
