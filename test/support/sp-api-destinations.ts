// The Notifications API's getDestinations (GET /notifications/v1/destinations): a grantless
// operation, called with a client_credentials token of scope `sellingpartnerapi::notifications`
// and no seller. Each app has one SQS destination here, derived from its client id, so a test
// can tell whose token opened it. Its getSubscription (GET /notifications/v1/subscriptions/{type})
// is a seller's operation: the seller's subscription of that type, to the app's destination.
import type { LwaGrantInfo } from './lwa-emulator.js'
import { json, unauthorized, type Reply } from './sp-api-replies.js'

export const notificationsScope = 'sellingpartnerapi::notifications'

/** The one destination the emulator lists for an app. */
export function destinationOf(clientId: string): { name: string; destinationId: string; resource: object } {
  const suffix = clientId.replace(/[^A-Za-z0-9]/g, '').slice(-12)
  return {
    name: `notifications-${suffix}`,
    destinationId: `dest-${suffix}`,
    resource: { sqs: { arn: `arn:aws:sqs:us-east-1:123456789012:notifications-${suffix}` } },
  }
}

/** A seller's token, or a grantless one of another scope, is refused as SP-API refuses it. */
export function getDestinations(grant: LwaGrantInfo, throttled: () => Reply | undefined): Reply {
  const scopes = grant.scope?.split(' ') ?? []
  if (grant.grantType !== 'client_credentials' || !scopes.includes(notificationsScope)) return unauthorized()
  return throttled() ?? json(200, { payload: [destinationOf(grant.clientId)] })
}

/** The seller's subscription of `notificationType`; the emulator's are implied, one per seller, app and type. */
export function getSubscription(seller: { clientId: string; sellingPartnerId: string }, notificationType: string,
  throttled: () => Reply | undefined): Reply {
  const { destinationId } = destinationOf(seller.clientId)
  const subscriptionId = `sub-${seller.sellingPartnerId}-${notificationType}`.toLowerCase()
  return throttled() ?? json(200, { payload: { subscriptionId, payloadVersion: '1.0', destinationId } })
}
