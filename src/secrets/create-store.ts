import type { BrokerConfig } from '../config/index.js'
import { FileSecretStore } from './file-store.js'
import type { SecretStore } from './secret-store.js'

/** The one place that picks a secret backend from config. */
export function createSecretStore(config: BrokerConfig['secrets']): SecretStore {
  switch (config.backend) {
    case 'file':
      return new FileSecretStore(config.path as string)
    case 'aws':
      throw new TypeError('secrets.backend "aws" is not available yet')
  }
}
