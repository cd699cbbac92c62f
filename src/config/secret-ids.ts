import { secretIdsOfCredential } from './credentials.js'
import type { BrokerConfig } from './schema.js'

/** Every secret id the credentials name (app and grant secrets), each once. */
export function secretIdsOf(config: BrokerConfig): string[] {
  return [...new Set(Object.values(config.credentials).flatMap(secretIdsOfCredential))]
}
