import type { Logger } from 'pino'
import type { SharedCache } from './cache/index.js'
import type { Catalogue, CatalogueChange } from './catalogue/catalogue.js'
import type { Clock } from './clock.js'
import { ConfigError, type BrokerConfig } from './config/index.js'
import type { CatalogueMetrics } from './observability/catalogue-metrics.js'
import { nextGeneration, type Generation } from './reload.js'

export type ReloadOutcome =
  | { result: 'applied'; changes: CatalogueChange[] }
  | { result: 'invalid'; error: ConfigError }
  | { result: 'refused'; restartOnly: string[] }

export interface ReloaderDeps {
  live: { current: Generation }
  catalogue: Catalogue
  clock: Clock
  shared: SharedCache | undefined
  logger: Logger
  metrics: CatalogueMetrics
}

/**
 * A config reload: the new file is validated completely (the same checks and field-naming
 * errors as at start-up) and, if nothing restart-only changed, swapped in with one
 * assignment; otherwise the old config keeps serving and the log and a metric say why.
 */
export function createReloader(deps: ReloaderDeps): (load: () => BrokerConfig) => ReloadOutcome {
  const logger = deps.logger.child({ component: 'config' })
  return (load) => {
    let config: BrokerConfig
    try {
      config = load()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      deps.metrics.configReload('invalid')
      logger.error({ problems: err.problems }, `config reload refused, the old config keeps serving: ${err.message}`)
      return { result: 'invalid', error: err }
    }
    const next = nextGeneration(deps.live.current, config, deps.clock, deps.shared)
    if ('restartOnly' in next) {
      deps.metrics.configReload('refused')
      logger.error({ fields: next.restartOnly }, 'config reload refused, the old config keeps serving: '
        + `${next.restartOnly.join(', ')} cannot change without a restart`)
      return { result: 'refused', restartOnly: next.restartOnly }
    }
    deps.live.current = next
    const changes = deps.catalogue.replaceFixed(config.credentials)
    deps.metrics.configReload('applied')
    logger.info({ credentialChanges: changes.length }, 'config reloaded')
    return { result: 'applied', changes }
  }
}
