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

/** App client secrets: their expiry, the notifications that bring new ones, the check a new one must pass. */
export const Apps = Type.Object({
  notifications: Type.Optional(Notifications),
  /** The grantless scope a new client secret is checked with before it is promoted: LWA granting it is the proof. */
  verifyScope: Type.String({ minLength: 1, default: 'sellingpartnerapi::notifications' }),
}, { ...closed, default: {} })
