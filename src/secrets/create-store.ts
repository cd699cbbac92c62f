import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { BrokerEvents } from '../observability/events.js'
import { secretsFilePath, type BrokerConfig } from '../config/index.js'
import { AwsSecretStore } from './aws-store.js'
import { CachingSecretStore } from './caching-store.js'
import { FileSecretStore } from './file-store.js'
import type { SecretStore } from './secret-store.js'

/** The one place that picks a secret backend from config. */
export function createSecretStore(
  config: BrokerConfig['secrets'],
  deps: { clock: Clock; logger: Logger; events?: BrokerEvents },
): SecretStore {
  switch (config.backend) {
    case 'file':
      return new FileSecretStore(secretsFilePath(config))
    case 'aws': {
      const backend = new AwsSecretStore({
        ...(config.region ? { region: config.region } : {}),
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        ...(deps.events ? { events: deps.events } : {}),
      })
      return new CachingSecretStore(backend, {
        clock: deps.clock,
        refreshMs: config.refreshSeconds * 1000,
        logger: deps.logger,
      })
    }
  }
}
