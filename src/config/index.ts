export { loadConfig, parseConfig, type ConfigEnv } from './load.js'
export { ConfigError, type ConfigProblem } from './config-error.js'
export type {
  BrokerConfig, RawConfig, IssuerConfig, PolicyRuleConfig, CatalogueConfig, LifecycleConfig, Api, Region,
} from './schema.js'
export {
  type CredentialConfig,
  type RefreshTokenCredential,
  type ClientCredentialsCredential,
  secretIdsOfCredential,
  secretsFilePath,
} from './credentials.js'
export { secretIdsOf } from './secret-ids.js'
