import type { Catalogue, CatalogueChange } from './catalogue.js'
import type { BrokerConfig } from '../config/index.js'
import type { Metrics } from '../observability/metrics.js'
import type { ServiceDeps } from '../services.js'
import type { SharedTokenStore } from '../tokens/shared-store.js'
import { AwsSecretLister } from './aws-lister.js'
import { Discovery } from './discovery.js'

/**
 * Discovery as the broker runs it, when `catalogue` is configured: ListSecrets against the
 * configured Secrets Manager, each change logged (a bad tag named), and with Redis every
 * replica told to list at once, so all converge within one listing rather than one interval.
 */
export function startDiscovery(
  config: BrokerConfig,
  parts: { deps: ServiceDeps; catalogue: Catalogue; share: SharedTokenStore; metrics: Metrics },
): Discovery | undefined {
  const settings = config.catalogue
  if (!settings) return undefined
  const { deps, catalogue, share, metrics } = parts
  const logger = deps.logger.child({ component: 'catalogue' })
  const { region, endpoint } = config.secrets
  const lister = deps.secretLister ?? new AwsSecretLister({
    ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}),
  }, metrics)
  catalogue.onChange((changes) => reportProblems(catalogue, changes, logger))
  const discovery = new Discovery({
    lister, ownsLister: !deps.secretLister, catalogue, settings, logger, events: metrics.catalogue,
    ...(deps.random ? { random: deps.random } : {}),
    changed: (_changes, reason) => {
      // A listing a peer asked for found what that peer found: telling everyone again would echo.
      if (reason === 'peer') return
      void share.publish({ kind: 'catalogue_changed' }).catch((err: unknown) =>
        logger.warn({ error: (err as Error).message }, 'could not tell the other replicas the catalogue changed'))
    },
  })
  share.subscribe((event) => {
    if (event.kind === 'catalogue_changed') void discovery.refresh('peer').catch(() => undefined)
  })
  return discovery
}

function reportProblems(
  catalogue: Catalogue,
  changes: readonly CatalogueChange[],
  logger: ServiceDeps['logger'],
): void {
  for (const { name, kind } of changes) {
    const problem = kind === 'removed' ? undefined : catalogue.entry(name)?.problem
    if (problem) {
      logger.warn({ credential: name, tag: problem.tag, problem: problem.message },
        'a tagged secret does not declare a usable credential; it is misconfigured until its tags are fixed')
    }
  }
}
