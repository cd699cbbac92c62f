// The operations the SP-API emulator serves, how a request finds one, and each one's
// documented default usage plan with the `x-amzn-RateLimit-Limit` text it answers with.
import type { UsagePlan } from './token-bucket.js'
import type { Reply } from './sp-api-replies.js'

export type SpApiOperation =
  | 'rotateApplicationClientSecret'
  | 'createRestrictedDataToken'
  | 'getOrderAddress'
  | 'getMarketplaceParticipations'
  | 'getDestinations'
  | 'getSubscription'

// The documented default usage plans, and the x-amzn-RateLimit-Limit text each sends.
export const plans: Record<SpApiOperation, UsagePlan & { header: string }> = {
  rotateApplicationClientSecret: { ratePerSecond: 1 / 60, burst: 1, header: '0.0167' },
  createRestrictedDataToken: { ratePerSecond: 1, burst: 10, header: '1.0' },
  getOrderAddress: { ratePerSecond: 0.5, burst: 30, header: '0.5' },
  getMarketplaceParticipations: { ratePerSecond: 0.016, burst: 15, header: '0.016' },
  getDestinations: { ratePerSecond: 1, burst: 5, header: '1.0' },
  getSubscription: { ratePerSecond: 1, burst: 5, header: '1.0' },
}

export interface Route { operation: SpApiOperation; orderId?: string; notificationType?: string }

const fixedRoutes = new Map<string, SpApiOperation>([
  ['POST /applications/2023-11-30/clientSecret', 'rotateApplicationClientSecret'],
  ['POST /tokens/2021-03-01/restrictedDataToken', 'createRestrictedDataToken'],
  ['GET /sellers/v1/marketplaceParticipations', 'getMarketplaceParticipations'],
  ['GET /notifications/v1/destinations', 'getDestinations'],
])

export function route(method: string, path: string): Route | undefined {
  const fixed = fixedRoutes.get(`${method} ${path}`)
  if (fixed !== undefined) return { operation: fixed }
  const orderId = method === 'GET' ? /^\/orders\/v0\/orders\/([^/]+)\/address$/.exec(path)?.[1] : undefined
  if (orderId !== undefined) return { operation: 'getOrderAddress', orderId }
  const subscription = /^\/notifications\/v1\/subscriptions\/([A-Z_]+)$/
  const notificationType = method === 'GET' ? subscription.exec(path)?.[1] : undefined
  return notificationType !== undefined ? { operation: 'getSubscription', notificationType } : undefined
}

export function withRateLimit(reply: Reply, operation: SpApiOperation): Reply {
  return { ...reply, headers: { ...reply.headers, 'x-amzn-RateLimit-Limit': plans[operation].header } }
}
