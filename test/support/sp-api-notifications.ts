// The SQS message bodies SP-API delivers about an application's client secret (SPAPI.md,
// "Notifications delivered to SQS"). Key order follows Amazon's samples, so a test can compare text.
import { randomUUID } from 'node:crypto'

export const newSecretType = 'APPLICATION_OAUTH_CLIENT_NEW_SECRET'
export const secretExpiryType = 'APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY'

export interface NotificationApp { applicationId: string; subscriptionId: string }

export interface NewSecretPayload {
  clientId: string
  newClientSecret: string
  newClientSecretExpiryTime: string
  oldClientSecretExpiryTime: string
}

export interface SecretExpiryPayload {
  clientId: string
  clientSecretExpiryTime: string
  clientSecretExpiryReason: string
}

/** `2026-09-19T10:00:00Z`: whole seconds, as SPAPI.md shows (Amazon's own samples sometimes carry milliseconds). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

// Amazon's sample publishes about a second after the event.
const publishLagMs = 1000

export function notificationBody(options: {
  type: typeof newSecretType | typeof secretExpiryType
  payload: NewSecretPayload | SecretExpiryPayload
  app: NotificationApp
  payloadVersion: string
  nowMs: number
}): string {
  const { type, payload, app, payloadVersion, nowMs } = options
  const key = type === newSecretType ? 'applicationOAuthClientNewSecret' : 'applicationOAuthClientSecretExpiry'
  return JSON.stringify({
    notificationVersion: '1.0',
    notificationType: type,
    payloadVersion,
    eventTime: isoSeconds(nowMs),
    payload: { [key]: payload },
    notificationMetadata: {
      applicationId: app.applicationId,
      subscriptionId: app.subscriptionId,
      publishTime: isoSeconds(nowMs + publishLagMs),
      notificationId: randomUUID(),
    },
  })
}
