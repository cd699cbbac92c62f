import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { SharedCache } from '../cache/index.js'
import { RedisOnboardingStore } from './redis-store.js'
import { MemoryOnboardingStore, type OnboardingStore } from './store.js'

/**
 * Where onboarding keeps links and used states, and the key that signs `state`. With Redis,
 * both are shared: any replica opens a link another made, checks a state another signed (the
 * key derives from the configured token-encryption key), and a state is used once across all.
 * Without Redis they are this process's own, so onboarding needs one replica or sticky sessions.
 */
export function onboardingState(
  shared: SharedCache | undefined,
  logger: Logger,
): { store: OnboardingStore; stateKey: Buffer } {
  if (shared) {
    return { store: new RedisOnboardingStore(shared.rateLimitRedis), stateKey: shared.derivedKey('onboarding state') }
  }
  logger.warn('onboarding without a shared Redis: links and states live in this process, so onboarding needs a '
    + 'single replica or sticky sessions (configure cache.backend redis to share them)')
  return { store: new MemoryOnboardingStore(), stateKey: randomBytes(32) }
}
