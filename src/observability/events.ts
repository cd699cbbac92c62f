import type { Memo } from '../memo.js'

/**
 * What the domain modules report as they work. They call these hooks and know nothing of
 * Prometheus; the metrics module implements them. Every label value passed here comes from
 * config or from a fixed set of codes, never from caller-controlled text.
 */
export interface BrokerEvents {
  /** One HTTP attempt at LWA's token endpoint; `result` is `ok` or the LwaError code. */
  lwaCall(credential: string, grant: string, result: string, seconds: number): void
  /**
   * A token lookup: `hit` served from the cache, `miss` waited for a refresh. `served`: the token a hit served, whose
   * memo may keep what the hook found for its credential.
   */
  cacheLookup(credential: string, result: 'hit' | 'miss', served?: { readonly memo: Memo }): void
  /** One Secrets Manager call; `result` is `ok` or the AWS error name. */
  secretsCall(operation: string, result: string): void
  /** A JWT refused; `reason` is the failed check's code. */
  jwtFailure(reason: string): void
}

export const noEvents: BrokerEvents = {
  lwaCall: () => {},
  cacheLookup: () => {},
  secretsCall: () => {},
  jwtFailure: () => {},
}

/**
 * Both hear every event: the metrics, and a module that acts on some of them (src/lifecycle hears LWA's answers). An
 * event the second does not hear goes straight to the first: a cache hit is an event per request.
 */
export function composeEvents(first: BrokerEvents, second: Partial<BrokerEvents>): BrokerEvents {
  const both = <K extends keyof BrokerEvents>(name: K): BrokerEvents[K] => {
    type Args = Parameters<BrokerEvents[K]>
    const one = first[name].bind(first) as (...a: Args) => void
    const other = second[name]?.bind(second) as ((...a: Args) => void) | undefined
    return (other ? (...args: Args): void => { one(...args); other(...args) } : one) as BrokerEvents[K]
  }
  return {
    lwaCall: both('lwaCall'), cacheLookup: both('cacheLookup'), secretsCall: both('secretsCall'),
    jwtFailure: both('jwtFailure'),
  }
}
