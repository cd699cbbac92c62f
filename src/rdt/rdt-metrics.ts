import { Counter, type Registry } from 'prom-client'
import { tallied } from '../observability/tallies.js'

/**
 * Where an issued RDT came from: this replica's cache, another replica's (Redis), a new one from
 * Amazon, or (joined) the one another caller here was already getting.
 */
export type RdtSource = 'cache' | 'shared' | 'minted' | 'joined'
/** How a call to the Tokens API ended. */
export type TokensApiOutcome = 'minted' | 'throttled' | 'refused' | 'failed'

const sources = ['cache', 'shared', 'minted', 'joined'] as const satisfies readonly RdtSource[]
const outcomes = ['minted', 'throttled', 'refused', 'failed'] as const satisfies readonly TokensApiOutcome[]

/** Restricted Data Tokens: by source, and the Tokens API calls they cost; every series starts at 0. */
export class RdtMetrics {
  /** A tally: counted on every RDT handed out, a cached one too (the hot path). */
  private readonly issued: (source: RdtSource) => { n: number }
  private readonly calls: Counter
  private readonly paced: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.issued = tallied({
      name: 'lwa_broker_rdt_issued_total',
      help: 'Restricted Data Tokens handed to callers, by source: cache, shared (another replica\'s), minted, joined '
        + '(a caller here was already getting it).',
      labelNames: ['source'], registry,
    })
    this.calls = new Counter({
      name: 'lwa_broker_rdt_tokens_api_calls_total',
      help: 'createRestrictedDataToken calls by outcome: minted, throttled (429), refused (400/403), failed.',
      labelNames: ['outcome'], registers,
    })
    this.paced = new Counter({
      name: 'lwa_broker_rdt_paced_total',
      help: 'RDT requests refused by the broker\'s own Tokens API pace (rate_limited), never sent to Amazon.',
      registers,
    })
    for (const source of sources) this.issued(source)
    for (const outcome of outcomes) this.calls.labels(outcome).inc(0)
    this.paced.inc(0)
  }

  rdtIssued(source: RdtSource): void {
    this.issued(source).n++
  }

  tokensApiCall(outcome: TokensApiOutcome): void {
    this.calls.labels(outcome).inc()
  }

  refusedByPace(): void {
    this.paced.inc()
  }
}
