// A loopback Login with Amazon token endpoint (see /work/shared/LWA.md): a real HTTP peer,
// so the broker's HTTP client, timeouts and error mapping are exercised exactly as in production.
// It also plays Amazon's consent pages (Ads `/ap/oa`, SP-API `/apps/authorize/consent`): a
// browser that clicks Allow is redirected back with a code the token endpoint then exchanges.
// Seller Central's seller-initiated pages (Appstore, yearly re-authorization) are seller-central.ts.
import { createServer, STATUS_CODES } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  consentCommon, decisionPage, denied, errorPage, escapeHtml, pageFields, readBody, redirect, type Reply,
} from './amazon-pages.js'
import { SellerCentral, type AppstoreStart } from './seller-central.js'

/** What to answer instead of the real grant result; faults ignore credentials entirely. */
export type Fault =
  | { kind: 'status'; status: number; error?: string; description?: string; retryAfter?: string } // no error: HTML page
  | { kind: 'malformed' } // 200, body is not JSON
  | { kind: 'no_access_token' } // 200 JSON without access_token
  | { kind: 'bad_expires_in' } // 200 JSON with expires_in: 0
  | { kind: 'reset' } // TCP reset, no response (client sees ECONNRESET)
  | { kind: 'slow'; ms: number } // normal answer, ms later

export interface LwaCall {
  grantType: string | undefined
  clientId: string | undefined
  contentType: string
  status: number
  error?: string
  at: number
}

export interface LwaEmulatorOptions {
  expiresInSeconds?: number
  latencyMs?: number
  /** Stamps `issuedAtMs`/`expiresAtMs` in grantOf(); pass the FakeClock the API emulators use. */
  clock?: { now(): number }
}

/** Everything known about an access token, for API emulators that must accept or refuse it. */
export interface LwaGrantInfo {
  clientId: string
  grantType: string
  scope?: string
  /** The refresh token it was minted from (refresh_token grant: the one presented; code grant: the code's). */
  refreshToken?: string
  /** Known when the refresh token came from the SP-API consent page. */
  sellingPartnerId?: string
  issuedAtMs: number
  expiresAtMs: number
}

export type LwaCallFilter = Partial<Pick<LwaCall, 'grantType' | 'clientId' | 'error'>> & { ok?: boolean }

/** What the last Allow on a consent page granted (a denial leaves it as it was). */
export interface LwaConsent {
  kind: 'ads' | 'sp-api'
  code: string
  refreshToken: string
  /** SP-API only: what Amazon sends back as `selling_partner_id`. */
  sellingPartnerId?: string
  state: string
  clientId: string
  redirectUri: string
  /** Ads only: the scope the consent page was asked for. */
  scope?: string
  /** SP-API only. */
  applicationId?: string
  /** SP-API only: `beta` when the page was opened for a draft app. */
  version?: string
}

const tokenPath = '/auth/o2/token'
const adsConsentPath = '/ap/oa'
const adsDecisionPath = '/ap/oa/decision'
const spConsentPath = '/apps/authorize/consent'
const spDecisionPath = '/apps/authorize/decision'
const defaultSellingPartnerId = 'A3SELLERTEST1'
const defaultExpiresInSeconds = 3600
const defaultCodeTtlMs = 5 * 60_000
const maxBodyBytes = 64 * 1024
// Real access tokens are 350+ characters and vary in length; a random length in this range
// catches brokers that truncate tokens or assume a fixed size.
const minTokenChars = 350
const maxTokenChars = 600
// Bounds memory in long benchmarks; issued() only needs to know recent tokens.
const maxIssuedTokens = 100_000
export const grantlessScopes: readonly string[] = [
  'sellingpartnerapi::notifications',
  'sellingpartnerapi::client_credential:rotation',
  'appstore::apps:readwrite',
  'adx_reporting::appstore:marketer',
]
const requiredFields = new Map<string, readonly string[]>([
  ['refresh_token', ['refresh_token', 'client_id', 'client_secret']],
  ['client_credentials', ['scope', 'client_id', 'client_secret']],
  ['authorization_code', ['code', 'redirect_uri', 'client_id', 'client_secret']],
])

type Answer = Reply | 'reset'
type Fields = ReadonlyMap<string, string>

interface Client { secrets: Buffer[]; scopes: readonly string[] }
interface RefreshGrant { clientId: string; revoked: boolean; rotateTo?: string }
interface AuthCode { clientId: string; redirectUri: string; refreshToken: string; expiresAt: number; used: boolean }
interface IssuedToken { clientId: string; grantType: string; scope?: string }
interface IssuedRecord { token: IssuedToken; refreshToken?: string; issuedAtMs: number; expiresAtMs: number }

export class LwaEmulator {
  readonly url: string
  readonly tokenUrl: string
  expiresInSeconds: number
  latencyMs: number
  readonly calls: LwaCall[] = []
  /** What the SP-API consent's next Allow sends back as `selling_partner_id`. */
  nextSellingPartnerId = defaultSellingPartnerId
  /** How long codes minted by the consent pages live; 0 mints codes that are already expired. */
  consentCodeTtlMs = defaultCodeTtlMs
  lastConsent: LwaConsent | undefined
  /** Seller Central's side of seller-initiated authorization: what it issued and what reached it. */
  readonly sellerCentral: SellerCentral

  readonly #server: Server
  // Aborted by close() so pending latency/slow timers neither keep the process alive nor answer late.
  readonly #closing = new AbortController()
  readonly #clients = new Map<string, Client>()
  readonly #refreshTokens = new Map<string, RefreshGrant>()
  readonly #codes = new Map<string, AuthCode>()
  readonly #applications = new Map<string, string>()
  readonly #issued = new Map<string, IssuedRecord>()
  readonly #sellingPartners = new Map<string, string>()
  readonly #clock: { now(): number }
  readonly #queuedFaults: Fault[] = []
  #fault: Fault | null = null

  private constructor(server: Server, options: LwaEmulatorOptions) {
    const { port } = server.address() as AddressInfo
    this.#server = server
    this.url = `http://127.0.0.1:${port}`
    this.tokenUrl = this.url + tokenPath
    this.expiresInSeconds = options.expiresInSeconds ?? defaultExpiresInSeconds
    this.latencyMs = options.latencyMs ?? 0
    this.#clock = options.clock ?? { now: () => Date.now() }
    this.sellerCentral = new SellerCentral(this.url, {
      clientOf: (applicationId) => this.#applications.get(applicationId),
      allow: ({ authorization, redirectUri, state }) => this.#allow({
        kind: 'sp-api',
        clientId: authorization.clientId,
        applicationId: authorization.applicationId,
        ...(authorization.draft ? { version: 'beta' } : {}),
        sellingPartnerId: authorization.sellingPartnerId,
        redirectUri,
        state,
      }),
    })
  }

  /**
   * Starts a seller-initiated authorization (Appstore "Authorize now", or the yearly
   * "Re-authorize"): the URL of the Seller Central page a browser opens first.
   */
  startAppstoreAuthorization(start: AppstoreStart): string {
    return this.sellerCentral.start(start)
  }

  static async start(options: LwaEmulatorOptions = {}): Promise<LwaEmulator> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const emulator = new LwaEmulator(server, options)
    server.on('request', (req, res) => {
      emulator.#handle(req, res).catch(() => res.destroy())
    })
    return emulator
  }

  callCount(filter: LwaCallFilter = {}): number {
    return this.calls.filter((call) =>
      (filter.grantType === undefined || call.grantType === filter.grantType) &&
      (filter.clientId === undefined || call.clientId === filter.clientId) &&
      (filter.error === undefined || call.error === filter.error) &&
      (filter.ok === undefined || (call.status === 200) === filter.ok),
    ).length
  }

  addClient(client: { clientId: string; clientSecret: string | string[]; scopes?: string[] }): void {
    const secrets = typeof client.clientSecret === 'string' ? [client.clientSecret] : client.clientSecret
    this.#clients.set(client.clientId, { secrets: [], scopes: [...(client.scopes ?? grantlessScopes)] })
    this.setClientSecrets(client.clientId, secrets)
  }

  setClientSecrets(clientId: string, secrets: string[]): void {
    this.#client(clientId).secrets = secrets.map((secret) => Buffer.from(secret, 'utf8'))
  }

  /** Accepts one more secret beside the current ones, as LWA does during a rotation's overlap. */
  addClientSecret(clientId: string, secret: string): void {
    this.#client(clientId).secrets.push(Buffer.from(secret, 'utf8'))
  }

  #client(clientId: string): Client {
    const client = this.#clients.get(clientId)
    if (!client) throw new TypeError(`LwaEmulator: unknown client ${clientId}; call addClient first`)
    return client
  }

  addRefreshToken(grant: { refreshToken: string; clientId: string; rotateTo?: string }): void {
    this.#refreshTokens.set(grant.refreshToken, { clientId: grant.clientId, revoked: false, rotateTo: grant.rotateTo })
  }

  /** An SP-API application (`amzn1.sp.solution.…`) and the LWA client its codes are exchanged by. */
  addApplication(app: { applicationId: string; clientId: string }): void {
    this.#applications.set(app.applicationId, app.clientId)
  }

  revokeRefreshToken(refreshToken: string): void {
    const grant = this.#refreshTokens.get(refreshToken)
    if (grant) grant.revoked = true
  }

  addAuthorizationCode(code: { code: string; clientId: string; redirectUri: string; refreshToken: string; ttlMs?: number }): void {
    const { clientId, redirectUri, refreshToken } = code
    const expiresAt = Date.now() + (code.ttlMs ?? defaultCodeTtlMs)
    this.#codes.set(code.code, { clientId, redirectUri, refreshToken, expiresAt, used: false })
  }

  issued(accessToken: string): IssuedToken | undefined {
    const record = this.#issued.get(accessToken)
    return record && { ...record.token }
  }

  /** issued() plus where the token came from and when it expires (by the `clock` option). */
  grantOf(accessToken: string): LwaGrantInfo | undefined {
    const record = this.#issued.get(accessToken)
    if (!record) return undefined
    const { token, refreshToken, issuedAtMs, expiresAtMs } = record
    const sellingPartnerId = refreshToken === undefined ? undefined : this.#sellingPartners.get(refreshToken)
    return {
      ...token,
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      ...(sellingPartnerId !== undefined ? { sellingPartnerId } : {}),
      issuedAtMs,
      expiresAtMs,
    }
  }

  failNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.#queuedFaults.push(fault)
  }

  setFault(fault: Fault | null): void {
    this.#fault = fault
  }

  reset(): void {
    this.calls.length = 0
    this.#queuedFaults.length = 0
    this.#fault = null
  }

  async close(): Promise<void> {
    this.#closing.abort()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    // close() alone waits for keep-alive sockets to idle out; tests must not wait for that.
    this.#server.closeAllConnections()
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now()
    const path = req.url?.split('?')[0]
    // The consent side is a browser's business, not a token call: no faults, not in `calls`.
    const page = this.sellerCentral.handles(path) ? this.sellerCentral.handle(req, path)
      : path === adsConsentPath || path === spConsentPath || path === adsDecisionPath || path === spDecisionPath
        ? this.#consent(req, path) : undefined
    if (page) {
      send(res, await page)
      return
    }
    if (req.method !== 'POST' || path !== tokenPath) {
      send(res, { status: 404, contentType: 'text/plain;charset=UTF-8', body: 'Not Found' })
      return
    }
    // Faults are taken on arrival so failNext(f, n) hits the next n requests in arrival order.
    const fault = this.#queuedFaults.shift() ?? this.#fault
    const contentType = req.headers['content-type'] ?? ''
    const body = await readBody(req, maxBodyBytes)
    // A body that cannot be read as fields still gets recorded (and still gets its fault).
    const parsed = body === undefined
      ? lwaError(400, 'invalid_request', 'The request body is too large')
      : parseFields(contentType, body)
    const fields: Fields = 'status' in parsed ? new Map() : parsed
    const call: LwaCall = { grantType: fields.get('grant_type'), clientId: fields.get('client_id'), contentType, status: 0, at }
    this.calls.push(call)

    if (fault?.kind === 'slow') await this.#delay(fault.ms)
    await this.#delay(this.latencyMs)
    const answer = fault && fault.kind !== 'slow' ? this.#faultAnswer(fault, call.grantType)
      : 'status' in parsed ? parsed : this.#grant(parsed)
    if (answer === 'reset') {
      // A TCP RST (client sees ECONNRESET), like a load balancer dropping the connection.
      req.socket.resetAndDestroy()
      return
    }
    call.status = answer.status
    if (answer.error !== undefined) call.error = answer.error
    send(res, answer)
  }

  async #consent(req: IncomingMessage, path: string): Promise<Reply> {
    const isPage = path === adsConsentPath || path === spConsentPath
    const fields = await pageFields(req, isPage)
    if (!(fields instanceof URLSearchParams)) return fields
    const request = path === adsConsentPath || path === adsDecisionPath ? this.#adsRequest(fields, isPage) : this.#spRequest(fields)
    if ('status' in request) return request
    if (isPage) return consentPage(request)
    const decision = fields.get('decision')
    if (decision === 'deny') return denied(request.redirectUri, request.state)
    if (decision !== 'allow') return errorPage(400, 'Bad Request', 'No decision was made.')
    return this.#allow(request)
  }

  // Checks what Amazon checks before it shows the page (and again when the form comes back).
  #adsRequest(fields: URLSearchParams, isPage: boolean): ConsentRequest | Reply {
    const clientId = fields.get('client_id') ?? ''
    const scope = fields.get('scope') ?? ''
    if (clientId === '' || !this.#clients.has(clientId)) return errorPage(400, 'Bad Request', 'An unknown client_id was provided.')
    if (scope === '') return errorPage(400, 'Bad Request', 'The request is missing a required parameter : scope.')
    // Only the page request carries response_type; the decision form does not repeat it.
    if (isPage && fields.get('response_type') !== 'code') return errorPage(400, 'Bad Request', 'The request has an invalid parameter : response_type.')
    const common = consentCommon(fields)
    if ('status' in common) return common
    return { kind: 'ads', clientId, scope, ...common }
  }

  #spRequest(fields: URLSearchParams): ConsentRequest | Reply {
    const applicationId = fields.get('application_id') ?? ''
    const clientId = this.#applications.get(applicationId)
    if (clientId === undefined) return errorPage(400, 'Bad Request', 'An unknown application_id was provided.')
    const common = consentCommon(fields)
    if ('status' in common) return common
    const version = fields.get('version') ?? ''
    return { kind: 'sp-api', clientId, applicationId, ...(version !== '' ? { version } : {}), ...common }
  }

  #allow(request: ConsentRequest): Reply {
    const code = 'AN' + randomBytes(15).toString('base64url').replace(/[-_]/g, 'x')
    const refreshToken = mintToken('Atzr|')
    this.addAuthorizationCode({ code, clientId: request.clientId, redirectUri: request.redirectUri, refreshToken, ttlMs: this.consentCodeTtlMs })
    const { kind, clientId, redirectUri, state } = request
    if (request.kind === 'ads') {
      this.lastConsent = { kind, code, refreshToken, state, clientId, redirectUri, scope: request.scope }
      return redirect(redirectUri, { code, scope: request.scope, state })
    }
    // Seller-initiated flows name the seller from the start; the website flow learns it on Allow.
    const sellingPartnerId = request.sellingPartnerId ?? this.nextSellingPartnerId
    this.#sellingPartners.set(refreshToken, sellingPartnerId)
    const { applicationId, version } = request
    this.lastConsent = { kind, code, refreshToken, sellingPartnerId, state, clientId, redirectUri, applicationId, ...(version !== undefined ? { version } : {}) }
    return redirect(redirectUri, { spapi_oauth_code: code, state, selling_partner_id: sellingPartnerId })
  }

  async #delay(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms, undefined, { signal: this.#closing.signal })
  }

  // The checks run in LWA's order: request shape, then client authentication, then the grant itself.
  #grant(fields: Fields): Reply {
    const grantType = fields.get('grant_type')
    if (grantType === undefined) return missingParameter('grant_type')
    const required = requiredFields.get(grantType)
    if (!required) return lwaError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server')
    const missing = required.find((name) => !fields.has(name))
    if (missing !== undefined) return missingParameter(missing)

    const value = (name: string): string => fields.get(name) ?? ''
    const clientId = value('client_id')
    if (!this.#authenticate(clientId, value('client_secret'))) return lwaError(401, 'invalid_client', 'Client authentication failed')
    if (grantType === 'refresh_token') return this.#refreshGrant(clientId, value('refresh_token'))
    if (grantType === 'client_credentials') return this.#clientCredentialsGrant(clientId, value('scope'))
    return this.#authorizationCodeGrant(clientId, value('code'), value('redirect_uri'))
  }

  #authenticate(clientId: string, secret: string): boolean {
    const client = this.#clients.get(clientId)
    if (!client) return false
    const given = Buffer.from(secret, 'utf8')
    // Check every accepted secret so timing does not reveal which one (if any) matched.
    let matched = false
    for (const accepted of client.secrets) {
      if (accepted.length === given.length && timingSafeEqual(accepted, given)) matched = true
    }
    return matched
  }

  #refreshGrant(clientId: string, refreshToken: string): Reply {
    const grant = this.#refreshTokens.get(refreshToken)
    if (!grant || grant.revoked || grant.clientId !== clientId) return invalidGrant('refresh_token')
    let answered = refreshToken
    if (grant.rotateTo !== undefined) {
      // Rotation is announced once; both tokens stay valid so a broker that missed it can recover.
      answered = grant.rotateTo
      grant.rotateTo = undefined
      if (!this.#refreshTokens.has(answered)) this.#refreshTokens.set(answered, { clientId, revoked: false })
    }
    return this.#success({ clientId, grantType: 'refresh_token' }, { refresh_token: answered }, refreshToken)
  }

  #clientCredentialsGrant(clientId: string, scope: string): Reply {
    const allowed = this.#clients.get(clientId)?.scopes ?? []
    if (allowed.length === 0) return lwaError(400, 'unauthorized_client', 'Not authorized for requested operation')
    const requested = scope.split(' ').filter((s) => s !== '')
    if (requested.length === 0 || !requested.every((s) => allowed.includes(s))) {
      return lwaError(400, 'invalid_scope', 'The request has an invalid parameter : scope')
    }
    return this.#success({ clientId, grantType: 'client_credentials', scope }, { scope })
  }

  #authorizationCodeGrant(clientId: string, code: string, redirectUri: string): Reply {
    const grant = this.#codes.get(code)
    const usable = grant && !grant.used && Date.now() < grant.expiresAt &&
      grant.clientId === clientId && grant.redirectUri === redirectUri
    if (!grant || !usable) return invalidGrant('code')
    grant.used = true
    // The code's refresh token is now a real grant the broker can refresh with (unless the test set it up already).
    if (!this.#refreshTokens.has(grant.refreshToken)) this.addRefreshToken({ refreshToken: grant.refreshToken, clientId })
    return this.#success({ clientId, grantType: 'authorization_code' }, { refresh_token: grant.refreshToken }, grant.refreshToken)
  }

  #success(issued: IssuedToken, extra: { refresh_token?: string; scope?: string }, refreshToken?: string): Reply {
    const accessToken = mintToken(tokenPrefix(issued.grantType))
    const issuedAtMs = this.#clock.now()
    const expiresAtMs = issuedAtMs + this.expiresInSeconds * 1000
    this.#issued.set(accessToken, { token: issued, ...(refreshToken !== undefined ? { refreshToken } : {}), issuedAtMs, expiresAtMs })
    if (this.#issued.size > maxIssuedTokens) {
      const oldest = this.#issued.keys().next()
      if (!oldest.done) this.#issued.delete(oldest.value)
    }
    return json(200, { access_token: accessToken, ...extra, token_type: 'bearer', expires_in: this.expiresInSeconds })
  }

  #faultAnswer(fault: Exclude<Fault, { kind: 'slow' }>, grantType: string | undefined): Answer {
    switch (fault.kind) {
      case 'reset':
        return 'reset'
      case 'malformed':
        // A truncated body under a JSON content type: what a cut connection behind a proxy looks like.
        return { status: 200, contentType: 'application/json;charset=UTF-8', body: '{"access_token":"Atza|IwEBI' }
      case 'no_access_token':
        return json(200, { token_type: 'bearer', expires_in: this.expiresInSeconds })
      case 'bad_expires_in':
        return json(200, { access_token: mintToken(tokenPrefix(grantType)), token_type: 'bearer', expires_in: 0 })
      case 'status':
        return statusFault(fault)
    }
  }
}

type ConsentRequest = { clientId: string; redirectUri: string; state: string } & (
  | { kind: 'ads'; scope: string }
  | { kind: 'sp-api'; applicationId: string; version?: string; sellingPartnerId?: string }
)

function consentPage(request: ConsentRequest): Reply {
  const hidden: Array<[string, string]> = []
  let asking: string
  if (request.kind === 'ads') {
    hidden.push(['client_id', request.clientId], ['scope', request.scope])
    asking = `<p>The application <strong id="client">${escapeHtml(request.clientId)}</strong> asks for access ` +
      `with the scope <strong id="scope">${escapeHtml(request.scope)}</strong>.</p>`
  } else {
    hidden.push(['application_id', request.applicationId])
    if (request.version !== undefined) hidden.push(['version', request.version])
    asking = '<p>The Selling Partner API application ' +
      `<strong id="application">${escapeHtml(request.applicationId)}</strong> ` +
      `(LWA client <strong id="client">${escapeHtml(request.clientId)}</strong>${request.version === 'beta' ? ', draft' : ''}) ` +
      'asks for access to your selling account.</p>'
  }
  hidden.push(['redirect_uri', request.redirectUri], ['state', request.state])
  return decisionPage(request.kind === 'ads' ? adsDecisionPath : spDecisionPath, asking, hidden)
}

function statusFault(fault: Extract<Fault, { kind: 'status' }>): Reply {
  const reason = STATUS_CODES[fault.status] ?? 'Error'
  const reply: Reply = fault.error === undefined
    // Gateways in front of LWA answer with pages, not JSON; the broker must cope with both.
    ? { status: fault.status, contentType: 'text/html;charset=UTF-8', body: `<html><body><h1>${fault.status} ${reason}</h1></body></html>` }
    : lwaError(fault.status, fault.error, fault.description ?? reason)
  if (fault.retryAfter !== undefined) reply.retryAfter = fault.retryAfter
  return reply
}

function tokenPrefix(grantType: string | undefined): string {
  return grantType === 'client_credentials' ? 'Atc|' : 'Atza|'
}

function mintToken(prefix: string): string {
  const length = randomInt(minTokenChars, maxTokenChars + 1)
  return prefix + randomBytes(length).toString('base64url').slice(0, length - prefix.length)
}

function json(status: number, body: object): Reply {
  return { status, contentType: 'application/json;charset=UTF-8', body: JSON.stringify(body) }
}

function lwaError(status: number, error: string, description: string): Reply {
  return { ...json(status, { error_description: description, error }), error }
}

function missingParameter(name: string): Reply {
  return lwaError(400, 'invalid_request', `The request is missing a required parameter : ${name}`)
}

function invalidGrant(name: string): Reply {
  return lwaError(400, 'invalid_grant', `The request has an invalid grant parameter : ${name}`)
}

/** Form or JSON body → fields; empty and non-string values count as absent, as at LWA. */
function parseFields(contentType: string, body: string): Fields | Reply {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase()
  if (mediaType === 'application/x-www-form-urlencoded') {
    return new Map([...new URLSearchParams(body)].filter(([, value]) => value !== ''))
  }
  if (mediaType !== 'application/json') return lwaError(400, 'invalid_request', 'unsupported Content-Type')
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return lwaError(400, 'invalid_request', 'The request body is not a JSON object')
  }
  return new Map(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== ''))
}

function send(res: ServerResponse, reply: Reply): void {
  res.statusCode = reply.status
  res.setHeader('content-type', reply.contentType)
  res.setHeader('cache-control', 'no-cache, no-store, must-revalidate')
  res.setHeader('x-amzn-requestid', randomUUID())
  if (reply.retryAfter !== undefined) res.setHeader('retry-after', reply.retryAfter)
  if (reply.location !== undefined) res.setHeader('location', reply.location)
  res.end(reply.body)
}
