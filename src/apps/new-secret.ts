import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { BrokerConfig } from '../config/index.js'
import { LwaError, tokenUrlFor, type LwaClient } from '../lwa/index.js'
import { SecretError, type SecretStore, type SecretValue } from '../secrets/index.js'
import type { AppSecret } from './app-secrets.js'

export interface NewSecretDeps {
  secrets: SecretStore
  lwa: LwaClient
  endpoints: BrokerConfig['lwa']['endpoints']
  /** A grantless scope every SP-API app may ask for: LWA granting it proves the new secret works. */
  verifyScope: string
  /** Every replica re-reads its secrets (a peer event): none keeps a secret Amazon is about to retire. */
  reloadEverywhere: () => Promise<unknown>
  logger: Logger
}

/** How applying a new client secret ended: only `applied` and `already` are durable (they delete the message). */
export type Applied = 'applied' | 'already' | 'rejected' | 'unavailable'

/**
 * Puts a new client secret in place with no failed request: a version staged AWSPENDING (the
 * other fields kept, the new expiry beside it), checked with LWA, then promoted to AWSCURRENT
 * (the old version becomes AWSPREVIOUS, which works until Amazon retires it; the token source
 * falls back to it if LWA rejects the new one meanwhile). Every step can be repeated: the
 * version id derives from the secret, so a redelivered notification, or one after a crash
 * between two steps, finishes the same job.
 */
export async function applyNewSecret(
  deps: NewSecretDeps,
  app: AppSecret,
  secret: { clientSecret: string; expiresAtMs: number },
): Promise<Applied> {
  const { secrets } = deps
  secrets.invalidate?.(app.secretId)
  const current = await secrets.get(app.secretId)
  if (current.fields.client_secret === secret.clientSecret) return 'already'
  const versionId = versionIdOf(app.secretId, secret.clientSecret)
  const fields = {
    ...current.fields, client_secret: secret.clientSecret,
    client_secret_expires_at: new Date(secret.expiresAtMs).toISOString(),
  }
  if (!secrets.putStaged) throw new SecretError('unavailable', app.secretId, 'this secrets backend cannot stage')
  await secrets.putStaged(app.secretId, fields, versionId, 'AWSPENDING').catch(async (err: unknown) => {
    // Staged before with other fields around it (a crash, then the current version changed): that version will do.
    if (!(err instanceof SecretError && err.code === 'exists')) throw err
  })
  return promote(deps, app, current, { versionId, clientId: String(current.fields.client_id), ...secret })
}

/**
 * A version left staged AWSPENDING (the broker stopped before promoting it, or an operator
 * staged one): checked and promoted as a notification would have done. Resolves `undefined`
 * when nothing is pending.
 */
export async function resumePending(deps: NewSecretDeps, app: AppSecret): Promise<Applied | undefined> {
  const pending = await deps.secrets.get(app.secretId, 'AWSPENDING').catch((err: unknown) => {
    if (err instanceof SecretError && err.code === 'not_found') return undefined
    throw err
  })
  if (!pending) return undefined
  deps.secrets.invalidate?.(app.secretId)
  const current = await deps.secrets.get(app.secretId)
  const { client_id: clientId, client_secret: clientSecret } = pending.fields
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string') return 'rejected'
  if (pending.versionId === current.versionId || clientSecret === current.fields.client_secret) {
    await deps.secrets.moveStage?.(app.secretId, 'AWSPENDING', { from: pending.versionId })
    return 'already'
  }
  return promote(deps, app, current, { versionId: pending.versionId, clientId, clientSecret })
}

async function promote(
  deps: NewSecretDeps,
  app: AppSecret,
  current: SecretValue,
  candidate: { versionId: string; clientId: string; clientSecret: string },
): Promise<Applied> {
  const verdict = await verify(deps, app, candidate)
  if (verdict !== 'accepted') return verdict
  const { secrets } = deps
  if (!secrets.moveStage) throw new SecretError('unavailable', app.secretId, 'this secrets backend cannot stage')
  await secrets.moveStage(app.secretId, 'AWSCURRENT', { to: candidate.versionId, from: current.versionId })
  await secrets.moveStage(app.secretId, 'AWSPENDING', { from: candidate.versionId })
  deps.logger.info({ app: app.secretId, versionId: candidate.versionId }, 'app client secret promoted to AWSCURRENT')
  await deps.reloadEverywhere()
  return 'applied'
}

/** LWA granting a token to the new secret is the proof; LWA down is not a verdict on the secret. */
async function verify(
  deps: NewSecretDeps,
  app: AppSecret,
  candidate: { clientId: string; clientSecret: string },
): Promise<'accepted' | 'rejected' | 'unavailable'> {
  try {
    await deps.lwa.requestToken(tokenUrlFor(app.region, deps.endpoints), candidate, {
      grantType: 'client_credentials', scope: deps.verifyScope,
    })
    return 'accepted'
  } catch (err) {
    const retryable = !(err instanceof LwaError) || err.retryable
    deps.logger.warn({ app: app.secretId, lwaError: err instanceof LwaError ? err.code : 'error' },
      retryable ? 'LWA is unavailable: the new client secret waits' : 'LWA refused the new client secret: not promoted')
    return retryable ? 'unavailable' : 'rejected'
  }
}

/** A UUID-shaped id from the secret and its new value: the same new secret is always the same version. */
function versionIdOf(secretId: string, clientSecret: string): string {
  const hex = createHash('sha256').update(`${secretId}\n${clientSecret}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** Amazon announced when the current client secret expires: kept beside it, once (a repeat writes nothing). */
export async function recordExpiry(deps: Pick<NewSecretDeps, 'secrets'>, app: AppSecret, expiresAtMs: number):
  Promise<Applied> {
  const { secrets } = deps
  secrets.invalidate?.(app.secretId)
  const current = await secrets.get(app.secretId)
  const at = new Date(expiresAtMs).toISOString()
  if (current.fields.client_secret_expires_at === at) return 'already'
  if (!secrets.put) throw new SecretError('unavailable', app.secretId, 'this secrets backend cannot store secrets')
  await secrets.put(app.secretId, { ...current.fields, client_secret_expires_at: at },
    versionIdOf(app.secretId, `${String(current.fields.client_secret)} expires ${at}`))
  return 'applied'
}
