import type { Spans } from '../observability/spans.js'
import type { PeerEvent, SharedTokenStore } from './shared-store.js'
import type { BrokerToken } from './token-source.js'

/**
 * The shared-token store (Redis) with a span per call when tracing: `lwa_broker.shared_cache`
 * with the operation, the credential and what came of it (a token found, a lock won). The
 * Redis client has no instrumentation that works when imported as an ES module.
 */
export function tracedShare(store: SharedTokenStore, spans: Spans): SharedTokenStore {
  const span = <T>(
    operation: string,
    credential: string | undefined,
    work: () => Promise<T>,
    result?: (value: T) => string,
  ): Promise<T> =>
    spans.inSpan('lwa_broker.shared_cache', {
      'lwa_broker.shared_cache.operation': operation,
      ...(credential === undefined ? {} : { 'lwa_broker.credential': credential }),
    }, async (handle) => {
      const value = await work()
      if (result) handle.set({ 'lwa_broker.outcome': result(value) })
      return value
    })
  const found = (token: BrokerToken | undefined): string => (token ? 'found' : 'none')
  return {
    get: (credential) => span('get', credential, () => store.get(credential), found),
    put: (credential, token) => span('put', credential, () => store.put(credential, token)),
    lock: (credential, ttlMs) =>
      span('lock', credential, () => store.lock(credential, ttlMs), (release) => (release ? 'won' : 'held')),
    waitFor: (credential, newerThanMs, timeoutMs) =>
      span('wait', credential, () => store.waitFor(credential, newerThanMs, timeoutMs), found),
    drop: (credential) => span('drop', credential, () => store.drop(credential)),
    publish: (event: PeerEvent) =>
      span('publish', 'credential' in event ? event.credential : undefined, () => store.publish(event)),
    subscribe: (listener) => store.subscribe(listener),
    close: () => store.close(),
  }
}
