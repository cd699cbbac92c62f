// SP-API's answers on the wire: `{"errors":[{"code","message","details"}]}` for every error,
// `x-amzn-RequestId` on everything, `x-amzn-RateLimit-Limit` where the usage plan applied.
import { STATUS_CODES } from 'node:http'
import type { ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'

export interface Reply {
  status: number
  body?: string
  contentType?: string
  errorCode?: string
  headers?: Record<string, string>
}

export type SpApiFault =
  // html: a gateway's page instead of SP-API's JSON
  | { kind: 'status'; status: number; code?: string; message?: string; retryAfter?: string; html?: boolean }
  | { kind: 'reset' } // TCP reset, no answer
  | { kind: 'slow'; ms: number } // the normal answer, ms later

export const deniedMessage = 'Access to requested resource is denied.'
export const invalidTokenDetails = 'The access token you provided is revoked, malformed or invalid.'
export const expiredTokenDetails = 'The access token you provided has expired.'
export const notEnrolledMessage =
  'Application is not enrolled for rotation notification. Please update application notification preference in Developer console.'
export const forbiddenResourceMessage = 'Application do not have access to some or all requested resource'

const jsonType = 'application/json'

// What the two data operations answer; the same for every seller and order.
export const sampleShippingAddress = {
  Name: 'Jane Doe', AddressLine1: '410 Terry Ave N', City: 'Seattle', StateOrRegion: 'WA',
  PostalCode: '98109', CountryCode: 'US', AddressType: 'Residential',
}
export const usParticipation = {
  marketplace: {
    id: 'ATVPDKIKX0DER', countryCode: 'US', name: 'Amazon.com', defaultCurrencyCode: 'USD',
    defaultLanguageCode: 'en_US', domainName: 'www.amazon.com',
  },
  participation: { isParticipating: true, hasSuspendedListings: false },
}

export function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value), contentType: jsonType }
}

export function spError(status: number, code: string, message: string, details = ''): Reply {
  return { ...json(status, { errors: [{ code, message, details }] }), errorCode: code }
}

export const unauthorized = (details = ''): Reply => spError(403, 'Unauthorized', deniedMessage, details)
export const invalidInput = (details: string, message = 'Invalid Input'): Reply =>
  spError(400, 'InvalidInput', message, details)
export const notFound = (): Reply => spError(404, 'NotFound', 'Resource not found')
const quotaMessage = 'You exceeded your quota for the requested resource.'
export const quotaExceeded = (): Reply => spError(429, 'QuotaExceeded', quotaMessage)

const faultDefaults = new Map<number, [string, string]>([
  [429, ['QuotaExceeded', quotaMessage]],
  [500, ['InternalFailure', 'We encountered an internal error. Please try again.']],
  [503, ['ServiceUnavailable', 'Service temporarily unavailable. Please try again.']],
])

export function faultReply(fault: Extract<SpApiFault, { kind: 'status' }>, rateLimit: string | undefined): Reply {
  const reason = STATUS_CODES[fault.status] ?? 'Error'
  const [code, message] = faultDefaults.get(fault.status) ?? [reason.replace(/\s+/g, ''), reason]
  const reply: Reply = fault.html
    ? { status: fault.status, contentType: 'text/html', body: `<html><body><h1>${fault.status} ${reason}</h1></body></html>` }
    : spError(fault.status, fault.code ?? code, fault.message ?? message)
  const headers: Record<string, string> = {}
  if (fault.status === 429 && rateLimit !== undefined) headers['x-amzn-RateLimit-Limit'] = rateLimit
  if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter
  return { ...reply, headers }
}

export function send(res: ServerResponse, reply: Reply): void {
  res.statusCode = reply.status
  res.setHeader('x-amzn-RequestId', randomUUID())
  if (reply.contentType !== undefined) res.setHeader('content-type', reply.contentType)
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value)
  res.end(reply.body)
}
