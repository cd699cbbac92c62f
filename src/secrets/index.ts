export {
  SecretError,
  parseSecretString,
  type SecretStore,
  type SecretValue,
  type SecretStage,
  type SecretErrorCode,
  type VersionedSecretBackend,
} from './secret-store.js'
export { FileSecretStore } from './file-store.js'
export { AwsSecretStore, type AwsSecretStoreOptions } from './aws-store.js'
export { CachingSecretStore, type SecretStatus } from './caching-store.js'
export { readCredentialMaterial, type CredentialMaterial, type StageOf } from './credential-material.js'
export { createSecretStore } from './create-store.js'
