import { request, type Dispatcher } from 'undici'
import type { Region } from '../config/index.js'
import { BrokerError } from '../errors.js'
import { spApiUrl } from '../sp-api/endpoints.js'
import { describeResources, type ResourceSet } from './resources.js'

const rdtPath = '/tokens/2021-03-01/restrictedDataToken'
/** An RDT longer-lived than an LWA token is not the Tokens API's answer (it says 3600). */
const maxRdtLifetimeSeconds = 3600
/** Amazon's own error text, passed on to name the resource: bounded, it is not ours. */
const maxAmazonTextChars = 300

export interface TokensApiDeps {
  dispatcher: Dispatcher
  endpoints: Partial<Record<Region, string>>
  timeoutMs: number
}

/** What one createRestrictedDataToken call came to; `rateLimit`: Amazon's x-amzn-RateLimit-Limit, if sent. */
export type TokensApiAnswer =
  | { minted: { token: string; expiresInSeconds: number }; rateLimit: number | undefined }
  | { throttled: true; rateLimit: number | undefined; retryAfterSeconds: number | undefined }

/**
 * createRestrictedDataToken (SPAPI.md) with the seller's access token. Amazon's refusals become
 * the broker's errors naming the resources; a 429 is answered, not thrown: the pace must hear it.
 */
export async function createRestrictedDataToken(
  deps: TokensApiDeps,
  region: Region,
  accessToken: string,
  set: ResourceSet,
): Promise<TokensApiAnswer> {
  const body = JSON.stringify({
    ...(set.targetApplication === undefined ? {} : { targetApplication: set.targetApplication }),
    restrictedResources: set.resources,
  })
  let answer: Dispatcher.ResponseData
  let text: string
  try {
    answer = await request(spApiUrl(region, deps.endpoints, rdtPath), {
      method: 'POST', dispatcher: deps.dispatcher, headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs, body,
      headers: { 'x-amz-access-token': accessToken, 'content-type': 'application/json', accept: 'application/json' },
    })
    text = await answer.body.text()
  } catch (err) {
    throw unavailable('the Tokens API could not be reached', { cause: err, logDetail: { error: errorName(err) } })
  }
  const rateLimit = headerNumber(answer.headers['x-amzn-ratelimit-limit'])
  if (answer.statusCode === 429) {
    return { throttled: true, rateLimit, retryAfterSeconds: headerNumber(answer.headers['retry-after']) }
  }
  if (answer.statusCode !== 200) throw refusal(answer.statusCode, text, set)
  return { minted: mintedOf(text), rateLimit }
}

function mintedOf(text: string): { token: string; expiresInSeconds: number } {
  const parsed = parseJson(text) as { restrictedDataToken?: unknown; expiresIn?: unknown } | undefined
  const token = parsed?.restrictedDataToken
  const expiresIn = parsed?.expiresIn
  if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw unavailable('the Tokens API answered 200 without a Restricted Data Token')
  }
  return { token, expiresInSeconds: Math.min(expiresIn, maxRdtLifetimeSeconds) }
}

/**
 * 400: a resource the Tokens API does not take; 403, or 400 saying so (what developers see):
 * one the app's roles do not reach; 403 about the access token: LWA's token was not accepted
 * (revoked since), worth a retry; anything else: Amazon is failing.
 */
function refusal(status: number, text: string, set: ResourceSet): BrokerError {
  const error = (parseJson(text) as { errors?: Array<{ code?: unknown; message?: unknown; details?: unknown }> })
    ?.errors?.[0]
  const amazon = [error?.message, error?.details].filter((t) => typeof t === 'string' && t !== '').join(' ')
    .slice(0, maxAmazonTextChars)
  const logDetail = { status, amazonCode: typeof error?.code === 'string' ? error.code : undefined }
  const named = `${describeResources(set)}${amazon ? ` (Amazon: ${amazon})` : ''}`
  if (status === 403 && /access token/i.test(amazon)) {
    return unavailable('the Tokens API did not accept the seller\'s access token', { logDetail })
  }
  if (status === 403 || (status === 400 && /do not have access/i.test(amazon))) {
    return new BrokerError('resource_forbidden', `the app may not have restricted data for ${named}`, { logDetail })
  }
  if (status === 400) {
    return new BrokerError('resource_invalid', `the Tokens API refused the restricted resources ${named}`,
      { logDetail })
  }
  return unavailable(`the Tokens API answered ${status}`, { logDetail })
}

const unavailable = (message: string, options: { cause?: unknown; logDetail?: Record<string, unknown> } = {}) =>
  new BrokerError('upstream_unavailable', message, { retryAfterSeconds: 1, ...options })

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const n = typeof value === 'string' ? Number(value) : NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
}

const errorName = (err: unknown): string =>
  (err instanceof Error ? (err as { code?: string }).code ?? err.name : 'error')
