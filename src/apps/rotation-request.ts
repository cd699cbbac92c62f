import { request, type Dispatcher } from 'undici'
import type { BrokerConfig, Region } from '../config/index.js'
import { LwaError, tokenUrlFor, type LwaClient, type LwaClientAuth } from '../lwa/index.js'
import { spApiUrl } from '../sp-api/endpoints.js'

/** SPAPI.md, "Application Management API". */
export const rotationScope = 'sellingpartnerapi::client_credential:rotation'
const rotationPath = '/applications/2023-11-30/clientSecret'
const timeoutMs = 10_000

/**
 * How asking Amazon for a new client secret ended. `requested`: the new secret is on its way to
 * the queue (each call mints one, so it is not asked again while it is pending); `throttled`: a
 * 429 (one call a minute); `not_enrolled`: no queue is registered for the new-secret notification,
 * so Amazon refuses; `failed`: anything else, LWA's grantless token included.
 */
export type RotationOutcome = 'requested' | 'throttled' | 'not_enrolled' | 'failed'

export interface RotationRequestDeps {
  lwa: LwaClient
  lwaEndpoints: BrokerConfig['lwa']['endpoints']
  spApiEndpoints: Partial<Record<Region, string>>
  dispatcher: Dispatcher
}

/** rotateApplicationClientSecret with a grantless token of the app; no body, a 204 on success. */
export async function requestRotation(
  deps: RotationRequestDeps,
  region: Region,
  client: LwaClientAuth,
): Promise<{ outcome: RotationOutcome; status?: number }> {
  let accessToken: string
  try {
    accessToken = (await deps.lwa.requestToken(tokenUrlFor(region, deps.lwaEndpoints), client, {
      grantType: 'client_credentials', scope: rotationScope,
    })).accessToken
  } catch (err) {
    return { outcome: err instanceof LwaError && err.status === 429 ? 'throttled' : 'failed' }
  }
  const url = spApiUrl(region, deps.spApiEndpoints, rotationPath)
  try {
    const answer = await request(url, {
      method: 'POST', dispatcher: deps.dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      headers: { 'x-amz-access-token': accessToken, accept: 'application/json' },
    })
    const text = await answer.body.text()
    return { outcome: outcomeOf(answer.statusCode, text), status: answer.statusCode }
  } catch {
    return { outcome: 'failed' }
  }
}

function outcomeOf(status: number, text: string): RotationOutcome {
  if (status >= 200 && status < 300) return 'requested'
  if (status === 429) return 'throttled'
  // SPAPI.md: 400 "Application is not enrolled for rotation notification…" (matched loosely: wording may change).
  if (status === 400 && /not enrolled/i.test(text)) return 'not_enrolled'
  return 'failed'
}
