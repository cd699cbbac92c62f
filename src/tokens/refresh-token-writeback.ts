import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { LwaToken } from '../lwa/index.js'
import { SecretError, type CredentialMaterial, type SecretStore } from '../secrets/index.js'

/**
 * LWA.md: a different refresh token must be stored before it is relied on. It is merged into
 * the latest AWSCURRENT fields, and the new version id derives from (base version, token), so
 * replicas that got the same token from the same base write one version, not two.
 * If the write fails the access token is still good; the old refresh token stays in use.
 */
export async function storeNewRefreshToken(
  secrets: SecretStore,
  logger: Logger,
  name: string,
  material: CredentialMaterial,
  answer: LwaToken,
): Promise<void> {
  if (!material.grant || !answer.refreshToken || answer.refreshToken === material.refreshToken) return
  const secretId = material.grant.id
  if (!secrets.put) {
    logger.warn({ credential: name, secretId }, 'LWA returned a new refresh token but this secrets backend cannot '
      + 'store it; keeping the stored one')
    return
  }
  try {
    const base = await secrets.get(secretId)
    const versionId = versionIdFor(secretId, base.versionId, answer.refreshToken)
    await secrets.put(secretId, { ...base.fields, refresh_token: answer.refreshToken }, versionId)
    logger.info({ credential: name, secretId, versionId }, 'stored the new refresh token from LWA')
  } catch (err) {
    logger.error(
      { credential: name, secretId, reason: err instanceof SecretError ? err.message : (err as Error).name },
      'could not store the new refresh token from LWA; keeping the stored one',
    )
  }
}

/** A UUID-shaped ClientRequestToken determined by its inputs (Secrets Manager wants 32-64 characters). */
function versionIdFor(secretId: string, baseVersionId: string, refreshToken: string): string {
  const hex = createHash('sha256').update(`${secretId}\0${baseVersionId}\0${refreshToken}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}
