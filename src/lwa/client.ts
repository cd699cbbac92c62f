import { request, type Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import { LwaError, lwaErrorFromResponse } from './lwa-error.js'

export type LwaGrant =
  | { grantType: 'refresh_token'; refreshToken: string }
  | { grantType: 'client_credentials'; scope: string }
  | { grantType: 'authorization_code'; code: string; redirectUri: string }

export interface LwaClientAuth {
  clientId: string
  clientSecret: string
}

export interface LwaToken {
  accessToken: string
  tokenType: string
  expiresInSeconds: number
  /** Present when LWA returned one (refresh_token and authorization_code grants). */
  refreshToken: string | undefined
  scope: string | undefined
}

export interface LwaClientOptions {
  timeoutMs: number
  clock: Clock
  /** undici dispatcher: a keep-alive pool in production, whatever a test needs otherwise. */
  dispatcher?: Dispatcher
}

/** LWA answers are a few hundred bytes; anything near this is not LWA. */
const maxResponseBytes = 64 * 1024
/** LWA's tokens live an hour; a lifetime beyond a day is not an answer to trust (nor one a Date can always hold). */
export const maxExpiresInSeconds = 86400
const userAgent = 'lwa-broker/0.1 (Language=TypeScript; Platform=Node.js)'

/** Talks to an LWA token endpoint. Knows the grants and the answers; nothing about caching. */
export class LwaClient {
  private readonly options: LwaClientOptions

  constructor(options: LwaClientOptions) {
    this.options = options
  }

  async requestToken(tokenUrl: string, auth: LwaClientAuth, grant: LwaGrant): Promise<LwaToken> {
    const { statusCode, headers, text } = await this.post(tokenUrl, formBody(auth, grant))
    const body = parseJson(text)
    if (statusCode !== 200) {
      const retryAfter = headers['retry-after']
      throw lwaErrorFromResponse(
        statusCode,
        body,
        Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        this.options.clock.now(),
      )
    }
    return validateToken(body)
  }

  private async post(
    url: string,
    body: string,
  ): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
          accept: 'application/json',
          'user-agent': userAgent,
        },
        body,
        // Timed from when the request is on a socket, not from when it was queued: in a cold
        // burst, a refresh waiting for a pooled connection must not time out (and be retried)
        // after LWA already answered others.
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      })
      return { statusCode: res.statusCode, headers: res.headers, text: await readCapped(res.body) }
    } catch (err) {
      if (err instanceof LwaError) throw err
      const name = (err as Error).name
      const timedOut = name === 'TimeoutError'
        || name === 'AbortError'
        || /TIMEOUT/.test(String((err as { code?: string }).code))
      throw new LwaError(timedOut ? 'timeout' : 'network', { retryable: true, cause: err })
    }
  }
}

function formBody(auth: LwaClientAuth, grant: LwaGrant): string {
  const form = new URLSearchParams({ grant_type: grant.grantType })
  switch (grant.grantType) {
    case 'refresh_token':
      form.set('refresh_token', grant.refreshToken)
      break
    case 'client_credentials':
      form.set('scope', grant.scope)
      break
    case 'authorization_code':
      form.set('code', grant.code)
      form.set('redirect_uri', grant.redirectUri)
      break
  }
  form.set('client_id', auth.clientId)
  form.set('client_secret', auth.clientSecret)
  return form.toString()
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > maxResponseBytes) {
      body.destroy()
      throw new LwaError('malformed_response', { retryable: true, description: 'response body too large' })
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A 200 is only a token if it has one: reject a missing access_token or a non-positive expires_in. */
function validateToken(body: unknown): LwaToken {
  const fields = body !== null && typeof body === 'object' ? body as Record<string, unknown> : undefined
  const malformed = (what: string): LwaError =>
    new LwaError('malformed_response', { status: 200, retryable: true, description: what })
  if (!fields) throw malformed('body is not a JSON object')
  const {
    access_token: accessToken, expires_in: expiresIn, token_type: tokenType, refresh_token: refreshToken, scope,
  } = fields
  if (typeof accessToken !== 'string' || accessToken.length === 0) throw malformed('no access_token')
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw malformed('expires_in is not a positive number')
  }
  if (expiresIn > maxExpiresInSeconds) throw malformed(`expires_in is beyond ${maxExpiresInSeconds} s`)
  return {
    accessToken,
    tokenType: typeof tokenType === 'string' ? tokenType : 'bearer',
    expiresInSeconds: expiresIn,
    refreshToken: typeof refreshToken === 'string' && refreshToken.length > 0 ? refreshToken : undefined,
    scope: typeof scope === 'string' ? scope : undefined,
  }
}
