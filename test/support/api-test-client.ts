// What the emulator tests do over HTTP: get real tokens from a real LwaEmulator and call an API.
import { request } from 'undici'
import type { Dispatcher } from 'undici'
import type { LwaEmulator } from './lwa-emulator.js'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: () => unknown
}

export interface CallOptions { method?: string; headers?: Record<string, string>; body?: string }

export async function call(url: string, options: CallOptions = {}): Promise<Answer> {
  const method = (options.method ?? 'GET') as Dispatcher.HttpMethod
  const res = await request(url, { method, headers: options.headers ?? {}, body: options.body })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown }
}

const formType = { 'content-type': 'application/x-www-form-urlencoded' }

function postForm(url: string, fields: Record<string, string>): Promise<Answer> {
  return call(url, { method: 'POST', headers: formType, body: new URLSearchParams(fields).toString() })
}

async function token(lwa: LwaEmulator, fields: Record<string, string>): Promise<string> {
  const answer = await postForm(lwa.tokenUrl, fields)
  const parsed = answer.json() as { access_token?: string }
  if (answer.status !== 200 || parsed.access_token === undefined) {
    throw new Error(`LWA answered ${answer.status}: ${answer.text}`)
  }
  return parsed.access_token
}

interface Client { clientId: string; clientSecret: string }

/** A seller's (or advertiser's) access token, from the refresh_token grant. */
export function refreshGrant(lwa: LwaEmulator, grant: Client & { refreshToken: string }): Promise<string> {
  const { clientId, clientSecret, refreshToken } = grant
  return token(lwa, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret })
}

/** A grantless access token, from the client_credentials grant. */
export function grantless(lwa: LwaEmulator, grant: Client & { scope: string }): Promise<string> {
  const { clientId, clientSecret, scope } = grant
  return token(lwa, { grant_type: 'client_credentials', scope, client_id: clientId, client_secret: clientSecret })
}

/** Clicks Allow on the SP-API consent page and exchanges the code: LWA then knows the seller. */
export async function consentGrant(lwa: LwaEmulator, grant: Client & { applicationId: string }):
Promise<{ accessToken: string; refreshToken: string; sellingPartnerId: string }> {
  const redirectUri = 'https://broker.example/callback'
  const decision = { application_id: grant.applicationId, redirect_uri: redirectUri, state: 'st', decision: 'allow' }
  const back = new URL(String((await postForm(`${lwa.url}/apps/authorize/decision`, decision)).headers.location))
  const code = String(back.searchParams.get('spapi_oauth_code'))
  const exchange = await postForm(lwa.tokenUrl, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: grant.clientId, client_secret: grant.clientSecret,
  })
  const parsed = exchange.json() as { access_token: string; refresh_token: string }
  const sellingPartnerId = String(back.searchParams.get('selling_partner_id'))
  return { accessToken: parsed.access_token, refreshToken: parsed.refresh_token, sellingPartnerId }
}

/** The first SP-API error of an answer. */
export function spError(answer: Answer): { code: string; message: string; details: string } {
  const body = answer.json() as { errors: Array<{ code: string; message: string; details: string }> }
  const [first] = body.errors
  if (!first) throw new Error(`no errors in ${answer.text}`)
  return first
}
