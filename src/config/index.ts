export { loadConfig, parseConfig, type ConfigEnv } from './load.js'
export { ConfigError, type ConfigProblem } from './config-error.js'
export type { BrokerConfig, CredentialConfig, IssuerConfig, PolicyRuleConfig, Api, Region } from './schema.js'
export { secretIdsOf } from './secret-ids.js'
