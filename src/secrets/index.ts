export { SecretError, parseSecretString, type SecretStore, type SecretValue, type SecretStage, type SecretErrorReason } from './secret-store.js'
export { FileSecretStore } from './file-store.js'
export { readCredentialMaterial, type CredentialMaterial } from './credential-material.js'
export { createSecretStore } from './create-store.js'
