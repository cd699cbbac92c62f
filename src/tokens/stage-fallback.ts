import type { Logger } from 'pino'
import type { CredentialConfig } from '../config/index.js'
import { accountOf } from '../secrets/grant-account.js'
import {
  readCredentialMaterial, SecretError, type CredentialMaterial, type SecretStage, type SecretStore, type StageOf,
} from '../secrets/index.js'

/** Tried in this order when LWA rejects what AWSCURRENT holds: a rotation may be under way. */
export const rotationStages: readonly SecretStage[] = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']

/** A stage that does not exist (no rotation in progress) is simply skipped. */
export async function readStage(
  secrets: SecretStore,
  config: CredentialConfig,
  secretId: string,
  stage: SecretStage,
): Promise<CredentialMaterial | undefined> {
  try {
    return await readCredentialMaterial(secrets, config, stageFor(secretId, stage))
  } catch (err) {
    if (err instanceof SecretError && err.code === 'not_found') return undefined
    throw err
  }
}

/**
 * A grant secret's other stages may hold another Amazon account's refresh token (the
 * credential was re-onboarded to a new account): such a version is never used. Only the
 * AWSCURRENT version speaks for the credential; a fallback must hold the same refresh token
 * (only the client secret changed) or prove the same account.
 */
export function sameAccount(
  logger: Logger,
  name: string,
  config: CredentialConfig,
  secretId: string,
  stage: SecretStage,
  current: CredentialMaterial,
  candidate: CredentialMaterial,
): boolean {
  if (stage === 'AWSCURRENT' || config.grant !== 'refresh_token' || secretId !== config.grantSecret) return true
  if (candidate.refreshToken === current.refreshToken) return true
  const expected = accountOf(current.grant?.fields)
  const found = accountOf(candidate.grant?.fields)
  if (expected !== undefined && expected === found) return true
  logger.warn({
    credential: name,
    secretId,
    stage,
    versionId: versionOf(candidate, secretId),
    account: found ?? null,
    expectedAccount: expected ?? null,
  }, 'not using another version of the grant secret: it is not proven to belong to the same Amazon account')
  return false
}

export function versionOf(material: CredentialMaterial, secretId: string): string | undefined {
  return material.app.id === secretId
    ? material.app.versionId
    : material.grant?.id === secretId ? material.grant.versionId : undefined
}

function stageFor(secretId: string, stage: SecretStage): StageOf {
  return (id) => (id === secretId ? stage : 'AWSCURRENT')
}
