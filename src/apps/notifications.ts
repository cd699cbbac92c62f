// The two SP-API notifications about the application's own client secret, as they arrive on its SQS
// queue (SPAPI.md, "Notifications delivered to SQS"). A body carries a live client secret, so nothing
// here throws, and a refusal says why in a word, never with any part of the body.

export type AppNotification =
  | {
    kind: 'new_secret'
    clientId: string
    newClientSecret: string
    newExpiresAtMs: number
    oldExpiresAtMs: number
    notificationId?: string
  }
  | { kind: 'secret_expiry'; clientId: string; expiresAtMs: number; reason?: string; notificationId?: string }

export type NotificationRefusal = { kind: 'unparseable' } | { kind: 'unknown_type'; type: string }

type Json = Record<string, unknown>

const newSecretType = 'APPLICATION_OAUTH_CLIENT_NEW_SECRET'
const secretExpiryType = 'APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY'
// An unknown type is logged: whatever it holds, it reaches the log as a short identifier.
const TYPE_LABEL_MAX_CHARS = 64
const NOT_A_LABEL_CHAR = /[^A-Za-z0-9_]/g
// Ids are logged by whoever handles the notification; anything else in their place is dropped.
const NOTIFICATION_ID = /^[A-Za-z0-9._:-]{1,128}$/
// UTC or an offset, whole seconds or a fraction: Amazon's samples show both `…:00Z` and `…:00.000Z`.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/

const unparseable: NotificationRefusal = Object.freeze({ kind: 'unparseable' })

/** The notification in an SQS message body, raw or wrapped in an SNS envelope; never throws. */
export function parseAppNotification(body: string): AppNotification | NotificationRefusal {
  const outer = parseObject(body)
  // A queue subscribed to an SNS topic gets the notification as the envelope's `Message` string.
  const message = outer?.['Type'] === 'Notification' && typeof outer['Message'] === 'string'
    ? parseObject(outer['Message'])
    : outer
  const type = message?.['notificationType']
  if (!message || typeof type !== 'string') return unparseable
  const payload = objectAt(message, 'payload')
  const notificationId = idOf(objectAt(message, 'notificationMetadata')?.['notificationId'])
  const parsed = type === newSecretType ? newSecret(objectAt(payload, 'applicationOAuthClientNewSecret'))
    : type === secretExpiryType ? secretExpiry(objectAt(payload, 'applicationOAuthClientSecretExpiry'))
      : { kind: 'unknown_type' as const, type: type.replace(NOT_A_LABEL_CHAR, '').slice(0, TYPE_LABEL_MAX_CHARS) }
  if (parsed.kind === 'unparseable' || parsed.kind === 'unknown_type') return parsed
  return notificationId === undefined ? parsed : { ...parsed, notificationId }
}

function newSecret(fields: Json | undefined): AppNotification | NotificationRefusal {
  const clientId = text(fields?.['clientId'])
  const newClientSecret = text(fields?.['newClientSecret'])
  const newExpiresAtMs = isoMs(fields?.['newClientSecretExpiryTime'])
  const oldExpiresAtMs = isoMs(fields?.['oldClientSecretExpiryTime'])
  if (clientId === undefined || newClientSecret === undefined) return unparseable
  if (newExpiresAtMs === undefined || oldExpiresAtMs === undefined) return unparseable
  return { kind: 'new_secret', clientId, newClientSecret, newExpiresAtMs, oldExpiresAtMs }
}

function secretExpiry(fields: Json | undefined): AppNotification | NotificationRefusal {
  const clientId = text(fields?.['clientId'])
  const expiresAtMs = isoMs(fields?.['clientSecretExpiryTime'])
  const reason = fields?.['clientSecretExpiryReason']
  if (clientId === undefined || expiresAtMs === undefined) return unparseable
  if (reason === undefined) return { kind: 'secret_expiry', clientId, expiresAtMs }
  return typeof reason === 'string' ? { kind: 'secret_expiry', clientId, expiresAtMs, reason } : unparseable
}

function parseObject(raw: string): Json | undefined {
  try {
    return asObject(JSON.parse(raw))
  } catch {
    return undefined // SyntaxError's message quotes the text it choked on
  }
}

const asObject = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined

const objectAt = (parent: Json | undefined, key: string): Json | undefined =>
  parent && Object.hasOwn(parent, key) ? asObject(parent[key]) : undefined

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)

const idOf = (value: unknown): string | undefined =>
  typeof value === 'string' && NOTIFICATION_ID.test(value) ? value : undefined

/** Epoch ms of an ISO 8601 time; Date.parse alone would roll 30 February over into March. */
function isoMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) return undefined
  const wall = value.slice(0, 19)
  const wallMs = Date.parse(`${wall}Z`)
  if (!Number.isFinite(wallMs) || new Date(wallMs).toISOString().slice(0, 19) !== wall) return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined // an offset such as +25:00
}
