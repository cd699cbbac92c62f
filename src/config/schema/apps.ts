import { Type } from 'typebox'
import { closed, NonEmpty, Url } from './common.js'

/** The SQS queue SP-API sends an app's client-secret notifications to (src/apps/notification-queue.ts). */
const Notifications = Type.Object({
  queueUrl: Url,
  /** The queue's AWS region (requests to SQS are signed for it). */
  region: NonEmpty,
  /** Unset: the regional endpoint (or AWS_ENDPOINT_URL_SQS). */
  endpoint: Type.Optional(Url),
  /** Long polling: an idle queue costs one request per this many seconds. */
  waitTimeSeconds: Type.Integer({ minimum: 1, maximum: 20, default: 20 }),
}, closed)

/** The rotation settings' defaults: also what an admin's rotation uses when `apps.rotation` is not set. */
export const rotationDefaults = { beforeExpiryDays: 30, pendingWaitMinutes: 60, checkIntervalMinutes: 60 } as const

/** Asking Amazon for a new client secret before the current one expires (SP-API apps; needs `notifications`). */
const Rotation = Type.Object({
  /** Rotate once fewer than this many days are left (Amazon's secrets last 180). */
  beforeExpiryDays: Type.Integer({ minimum: 1, maximum: 170, default: rotationDefaults.beforeExpiryDays }),
  /** A requested rotation is not requested again for this long: each call mints a new secret. */
  pendingWaitMinutes: Type.Integer({ minimum: 5, maximum: 10080, default: rotationDefaults.pendingWaitMinutes }),
  checkIntervalMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: rotationDefaults.checkIntervalMinutes }),
}, closed)

/** App client secrets: their expiry, the notifications that bring new ones, the check a new one must pass. */
export const Apps = Type.Object({
  notifications: Type.Optional(Notifications),
  /** The grantless scope a new client secret is checked with before it is promoted: LWA granting it is the proof. */
  verifyScope: Type.String({ minLength: 1, default: 'sellingpartnerapi::notifications' }),
  rotation: Type.Optional(Rotation),
}, { ...closed, default: {} })
