// A loopback Amazon Ads API (see /work/shared/SPAPI.md, "Ads API: profiles"): `GET /v2/profiles`
// and one profile-scoped call, `GET /v2/campaigns`. Tokens are checked against the LWA emulator that
// minted them; profiles belong to refresh tokens. The three regional hosts are this one server.
// Profile and campaign ids are 64-bit integers written into the JSON text digit for digit, so a
// client that parses them as JS numbers loses precision exactly as it would against Amazon.
import { STATUS_CODES } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { LwaEmulator, LwaGrantInfo } from './lwa-emulator.js'
import { closeServer, delay, FaultQueue, listenLoopback, readBody } from './api-emulator-kit.js'

export interface AdsProfile {
  /** A 64-bit integer: give it as digits or a bigint, never a JS number. */
  profileId: string | bigint
  countryCode: string
  currencyCode: string
  dailyBudget?: number
  timezone: string
  accountInfo: {
    marketplaceStringId: string
    id: string
    type: 'seller' | 'vendor' | 'agency'
    name: string
    validPaymentMethod: boolean
  }
}

export interface AdsCampaign {
  campaignId: string | bigint
  name: string
  campaignType?: string
  targetingType: 'manual' | 'auto'
  state: 'enabled' | 'paused' | 'archived'
  dailyBudget: number
  startDate: string
}

export type AdsOperation = 'listProfiles' | 'listCampaigns'

export type AdsFault =
  | { kind: 'status'; status: number; code?: string; details?: string; retryAfter?: string }
  | { kind: 'reset' }
  | { kind: 'slow'; ms: number }

export interface AdsCall {
  /** '' for a path the emulator does not serve. */
  operation: AdsOperation | ''
  status: number
  /** `code` of an Ads error body, or `message` for the gateway's token rejection. */
  error?: string
  clientId?: string
  refreshToken?: string
  profileId?: string
  /** The Bearer token presented: the SDK compat tests check it is the broker's, byte for byte. */
  accessToken?: string
  at: number
}

export interface AdsCallFilter { operation?: AdsOperation | ''; status?: number; clientId?: string; profileId?: string }

export interface AdsEmulatorOptions {
  lwa: LwaEmulator
  /** Drives access-token expiry; defaults to the wall clock. */
  clock?: { now(): number }
}

// What Ads users report for a refresh token, an expired token or a token of another kind.
export const invalidTokenMessage =
  'Unauthorized exception while handling 3P Request: Unauthorized exception while authenticating LwA token: Invalid token'
export const clientIdMismatchDetails = 'Unauthorized exception while handling 3P Request: clientId does not match token'
const int64Max = 2n ** 63n - 1n
const maxBodyBytes = 64 * 1024
const routes = new Map<string, AdsOperation>([['/v2/profiles', 'listProfiles'], ['/v2/campaigns', 'listCampaigns']])
const noAccess = 'Unauthorized exception while handling 3P Request: Customer does not have access to profile: '

interface Reply { status: number; body: string; error?: string; headers?: Record<string, string> }

const adsError = (status: number, code: string, details: string): Reply =>
  ({ status, body: JSON.stringify({ code, details, requestId: randomUUID().toUpperCase() }), error: code })

export class AdsEmulator {
  readonly calls: AdsCall[] = []

  readonly #lwa: LwaEmulator
  readonly #clock: { now(): number }
  readonly #closing = new AbortController()
  readonly #faults = new FaultQueue<AdsFault>()
  readonly #profiles = new Map<string, string>()
  readonly #profileIds = new Map<string, Set<string>>()
  readonly #campaigns = new Map<string, string>()
  #defaultProfiles: AdsProfile[] = []

  private constructor(readonly url: string, private readonly server: Server, options: AdsEmulatorOptions) {
    this.#lwa = options.lwa
    this.#clock = options.clock ?? { now: () => Date.now() }
  }

  static async start(options: AdsEmulatorOptions): Promise<AdsEmulator> {
    const { server, url } = await listenLoopback()
    const emulator = new AdsEmulator(url, server, options)
    server.on('request', (req, res) => {
      emulator.#handle(req, res).catch(() => req.socket.destroy())
    })
    return emulator
  }

  /** The profiles one advertiser login (refresh token) sees; replaces what was set before. */
  setProfiles(refreshToken: string, profiles: AdsProfile[]): void {
    this.#profiles.set(refreshToken, jsonArray(profiles, 'profileId'))
    this.#profileIds.set(refreshToken, new Set(profiles.map((p) => int64Text(p.profileId, 'profileId'))))
  }

  /** The profiles of any login no setProfiles() named (a consent page mints refresh tokens nobody knows in advance). */
  setDefaultProfiles(profiles: AdsProfile[]): void {
    this.#defaultProfiles = profiles
  }

  /** What `GET /v2/campaigns` answers for this profile (default: no campaigns). */
  setCampaigns(profileId: string | bigint, campaigns: AdsCampaign[]): void {
    this.#campaigns.set(int64Text(profileId, 'profileId'), jsonArray(campaigns, 'campaignId'))
  }

  callCount(filter: AdsCallFilter = {}): number {
    return this.calls.filter((c) =>
      (filter.operation === undefined || c.operation === filter.operation) &&
      (filter.status === undefined || c.status === filter.status) &&
      (filter.clientId === undefined || c.clientId === filter.clientId) &&
      (filter.profileId === undefined || c.profileId === filter.profileId),
    ).length
  }

  failNext(fault: AdsFault, times = 1, operation?: AdsOperation): void {
    this.#faults.push(fault, times, operation)
  }

  setFault(fault: AdsFault | null): void {
    this.#faults.set(fault)
  }

  /** Forgets calls and faults; profiles and campaigns stay. */
  reset(): void {
    this.calls.length = 0
    this.#faults.clear()
  }

  async close(): Promise<void> {
    await closeServer(this.server, this.#closing)
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator.invalid').pathname
    const operation = req.method === 'GET' ? routes.get(path) ?? '' : ''
    const call: AdsCall = { operation, status: 0, at: this.#clock.now() }
    this.calls.push(call)
    const bearer = /^Bearer (\S+)$/i.exec(header(req, 'authorization') ?? '')?.[1]
    if (bearer !== undefined) call.accessToken = bearer
    await readBody(req, maxBodyBytes)
    const fault = this.#faults.take(operation)
    if (fault?.kind === 'slow') await delay(fault.ms, this.#closing)
    if (fault?.kind === 'reset') {
      req.socket.resetAndDestroy()
      return
    }
    const reply = fault?.kind === 'status' ? faultReply(fault)
      : operation === '' ? adsError(404, 'NOT_FOUND', `Could not find resource for full path: ${path}`)
      : this.#operate(operation, req, call)
    call.status = reply.status
    if (reply.error !== undefined) call.error = reply.error
    const headers = { 'content-type': 'application/json', 'x-amz-request-id': randomUUID(), ...reply.headers }
    res.writeHead(reply.status, headers)
    res.end(reply.body)
  }

  #operate(operation: AdsOperation, req: IncomingMessage, call: AdsCall): Reply {
    const clientId = header(req, 'amazon-advertising-api-clientid')
    if (clientId === undefined) return adsError(400, '400', 'Missing required header: Amazon-Advertising-API-ClientId')
    call.clientId = clientId
    const grant = this.#grant(header(req, 'authorization'))
    if (!grant) return { status: 401, body: JSON.stringify({ message: invalidTokenMessage }), error: 'message' }
    call.refreshToken = grant.refreshToken
    if (grant.clientId !== clientId) return adsError(401, 'UNAUTHORIZED', clientIdMismatchDetails)
    if (operation === 'listProfiles') return { status: 200, body: this.#profiles.get(grant.refreshToken) ?? jsonArray(this.#defaultProfiles, 'profileId') }

    const scope = header(req, 'amazon-advertising-api-scope')
    if (scope === undefined || !/^\d{1,19}$/.test(scope)) {
      return adsError(400, '400', 'Scope header is missing or is not a profile id')
    }
    call.profileId = scope
    const ids = this.#profileIds.get(grant.refreshToken) ?? new Set(this.#defaultProfiles.map((p) => int64Text(p.profileId, 'profileId')))
    if (!ids.has(scope)) {
      return adsError(401, 'UNAUTHORIZED', noAccess + scope)
    }
    return { status: 200, body: this.#campaigns.get(scope) ?? '[]' }
  }

  /** A valid advertiser token (one minted from a refresh token), or undefined. */
  #grant(authorization: string | undefined): (LwaGrantInfo & { refreshToken: string }) | undefined {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1]
    const grant = token === undefined ? undefined : this.#lwa.grantOf(token)
    if (!grant || grant.refreshToken === undefined || this.#clock.now() >= grant.expiresAtMs) return undefined
    return { ...grant, refreshToken: grant.refreshToken }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

function faultReply(fault: Extract<AdsFault, { kind: 'status' }>): Reply {
  const reason = STATUS_CODES[fault.status] ?? 'Error'
  const reply = adsError(fault.status, fault.code ?? String(fault.status), fault.details ?? reason)
  return fault.retryAfter === undefined ? reply : { ...reply, headers: { 'retry-after': fault.retryAfter } }
}

/** A 64-bit id as canonical digits; a JS number or anything else is a test's mistake. */
function int64Text(id: string | bigint, field: string): string {
  const text = typeof id === 'bigint' ? id.toString() : typeof id === 'string' ? id : ''
  if (!/^(0|[1-9]\d{0,18})$/.test(text) || BigInt(text) > int64Max) {
    throw new TypeError(`AdsEmulator: ${field} must be a 64-bit integer as digits or bigint, got ${String(id)}`)
  }
  return text
}

/** The items as a JSON array, each opening with `"<idField>":<digits>` written as a raw integer. */
function jsonArray<T extends object>(items: readonly T[], idField: keyof T & string): string {
  const parts = items.map((item) => {
    const { [idField]: id, ...rest } = item
    const tail = JSON.stringify(rest)
    // The other fields are required by the types, so `tail` is never `{}`.
    return `{${JSON.stringify(idField)}:${int64Text(id as string | bigint, idField)},${tail.slice(1)}`
  })
  return `[${parts.join(',')}]`
}
