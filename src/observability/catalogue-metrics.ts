import { Counter, Gauge, type Registry } from 'prom-client'
import type { DiscoveryEvents } from '../catalogue/discovery.js'

const prefix = 'lwa_broker_'

export interface CatalogueSources {
  /** Usable and misconfigured credentials by where they were declared. */
  counts: () => Array<{ origin: string; count: number }>
  clashes: () => number
  /** The broker's clock (ms), for when a listing finished. */
  now: () => number
}

/** Config reloads and the discovered catalogue: what an operator alerts on when either stops working. */
export class CatalogueMetrics implements DiscoveryEvents {
  private readonly reloads: Counter
  private readonly listings: Counter
  private readonly listCalls: Counter
  private readonly lastListing: Gauge

  constructor(registry: Registry, private readonly sources: () => CatalogueSources) {
    const registers = [registry]
    this.reloads = new Counter({
      name: `${prefix}config_reloads_total`,
      help: 'Config reloads by result: applied, invalid (the file failed validation), refused (a restart-only '
        + 'setting changed). The old config keeps serving unless applied.',
      labelNames: ['result'], registers,
    })
    this.listings = new Counter({
      name: `${prefix}catalogue_listings_total`,
      help: 'Catalogue listings of tagged secrets by result (ok, throttled, failed); a failed one removes nothing.',
      labelNames: ['result'], registers,
    })
    this.listCalls = new Counter({
      name: `${prefix}catalogue_list_calls_total`,
      help: 'ListSecrets calls made by catalogue listings, retries of throttled pages included.',
      registers,
    })
    this.lastListing = new Gauge({
      name: `${prefix}catalogue_last_listing_timestamp_seconds`,
      help: 'When the last complete catalogue listing finished (Unix seconds).',
      registers,
    })
    new Gauge({
      name: `${prefix}catalogue_credentials`, help: 'Credentials known, by origin (config, secret).',
      labelNames: ['origin'], registers,
      collect() {
        this.reset()
        for (const { origin, count } of sources().counts()) this.set({ origin }, count)
      },
    })
    new Gauge({
      name: `${prefix}catalogue_name_clashes`,
      help: 'Discovered secrets whose credential name the config file also declares (the file\'s credential serves).',
      registers,
      collect() { this.set(sources().clashes()) },
    })
  }

  configReload(result: 'applied' | 'invalid' | 'refused'): void {
    this.reloads.inc({ result })
  }

  listing(result: 'ok' | 'throttled' | 'failed', calls: number): void {
    this.listings.inc({ result })
    this.listCalls.inc(calls)
    if (result === 'ok') this.lastListing.set(this.sources().now() / 1000)
  }
}
