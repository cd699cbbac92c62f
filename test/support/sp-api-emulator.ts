// A loopback Selling Partner API (see /work/shared/SPAPI.md): the Application Management API
// (client secret rotation, with the SQS notification handed to a callback), the Tokens API
// (Restricted Data Tokens), one restricted operation that checks the RDT, one ordinary one, and
// one grantless one (Notifications getDestinations, sp-api-destinations.ts).
// Access tokens are checked against the LWA emulator that minted them; usage plans are token
// buckets on an injected clock, so throttling is tested without sleeping.
// Rotations reach a queue through `notify`, e.g. with the SQS emulator:
//   SpApiEmulator.start({ lwa, clock, notify: (body) => { sqs.send('app-notifications', body) } })
// or, for a queue fed through SNS: `sqs.send(name, JSON.stringify({ Type: 'Notification', Message: body }))`.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import type { LwaEmulator, LwaGrantInfo } from './lwa-emulator.js'
import { closeServer, delay, FaultQueue, listenLoopback, readBody } from './api-emulator-kit.js'
import { TokenBuckets } from './token-bucket.js'
import { plans, route, withRateLimit } from './sp-api-routes.js'
import type { Route, SpApiOperation } from './sp-api-routes.js'
import { covers, names, parseRdtRequest } from './sp-api-restricted-resources.js'
import type { Accepted, RestrictedResource } from './sp-api-restricted-resources.js'
import { getDestinations, getSubscription } from './sp-api-destinations.js'
import { isoSeconds, newSecretType, notificationBody, secretExpiryType } from './sp-api-notifications.js'
import type { NotificationApp } from './sp-api-notifications.js'
import {
  expiredTokenDetails, faultReply, forbiddenResourceMessage, invalidInput, invalidTokenDetails, json,
  notEnrolledMessage, notFound, quotaExceeded, sampleShippingAddress, send, spError, unauthorized, usParticipation,
} from './sp-api-replies.js'
import type { Reply, SpApiFault } from './sp-api-replies.js'

export type { SpApiFault } from './sp-api-replies.js'
export type { SpApiOperation } from './sp-api-routes.js'
export type { RestrictedResource } from './sp-api-restricted-resources.js'

export interface SpApiCall {
  /** '' for a path the emulator does not serve. */
  operation: SpApiOperation | ''
  method: string
  path: string
  status: number
  errorCode?: string
  clientId?: string
  sellingPartnerId?: string
  /** The `x-amz-access-token` presented: the SDK compat tests check it is the broker's, byte for byte. */
  accessToken?: string
  at: number
}

export interface SpApiCallFilter {
  operation?: SpApiOperation | ''
  status?: number
  clientId?: string
  sellingPartnerId?: string
}

export interface MintedRdt {
  restrictedDataToken: string
  clientId: string
  sellingPartnerId: string
  targetApplication?: string
  resources: RestrictedResource[]
  expiresAtMs: number
}

export interface SpApiEmulatorOptions {
  lwa: LwaEmulator
  /** Drives token expiry and the usage plans; defaults to the wall clock. */
  clock?: { now(): number }
  /** Receives each notification body, as Amazon would put it on the app's SQS queue. */
  notify?: (body: string) => Promise<void> | void
  /** Every answer waits this long, as Amazon's are not instant: callers' concurrency then overlaps. */
  latencyMs?: number
}

export const rotationScope = 'sellingpartnerapi::client_credential:rotation'
const rdtExpiresInSeconds = 3600
const newSecretLifetimeMs = 180 * 86_400_000
const oldSecretOverlapMs = 7 * 86_400_000
const defaultExpiryNoticeMs = 90 * 86_400_000
const maxBodyBytes = 64 * 1024
const tooLargeMessage = 'The request size exceeded the maximum accepted size.'
const unknownSellerDetails = 'SpApiEmulator: no selling partner for this refresh token; call setSellingPartner.'

interface App extends NotificationApp { clientId: string; enrolled: boolean }
type Principal = { kind: 'lwa'; grant: LwaGrantInfo } | { kind: 'rdt'; rdt: MintedRdt }
/** A seller's LWA token, resolved to its selling partner. */
interface Seller { clientId: string; sellingPartnerId: string }

export class SpApiEmulator {
  readonly calls: SpApiCall[] = []
  /** Every RDT minted, oldest first. */
  readonly rdts: MintedRdt[] = []
  /** Every notification body handed to `notify`, oldest first. */
  readonly notifications: string[] = []
  /** What `notify` threw or rejected with; the rotation itself still succeeds, as at Amazon. */
  readonly notifyErrors: unknown[] = []
  /** `payloadVersion` of the notifications; Amazon's samples show `2023-11-30` and `1.0`. */
  payloadVersion = '2023-11-30'
  /** 403 as documented; 400 (`InvalidInput`) is what developers report seeing. */
  forbiddenResourceStatus: 400 | 403 = 403
  /** Wall-clock delay before every answer (after a slow fault's own); the usage plans still run on `clock`. */
  latencyMs: number

  readonly #lwa: LwaEmulator
  readonly #clock: { now(): number }
  readonly #notify: ((body: string) => Promise<void> | void) | undefined
  readonly #closing = new AbortController()
  readonly #faults = new FaultQueue<SpApiFault>()
  readonly #apps = new Map<string, App>()
  readonly #sellers = new Map<string, string>()
  readonly #secrets = new Map<string, string[]>()
  readonly #forbidden: Array<{ path: string; clientId: string | undefined }> = []
  readonly #rdtsByToken = new Map<string, MintedRdt>()
  readonly #buckets: Record<SpApiOperation, TokenBuckets> = {
    rotateApplicationClientSecret: new TokenBuckets(plans.rotateApplicationClientSecret),
    createRestrictedDataToken: new TokenBuckets(plans.createRestrictedDataToken),
    getOrderAddress: new TokenBuckets(plans.getOrderAddress),
    getMarketplaceParticipations: new TokenBuckets(plans.getMarketplaceParticipations),
    getDestinations: new TokenBuckets(plans.getDestinations),
    getSubscription: new TokenBuckets(plans.getSubscription),
  }

  private constructor(readonly url: string, private readonly server: Server, options: SpApiEmulatorOptions) {
    this.#lwa = options.lwa
    this.#clock = options.clock ?? { now: () => Date.now() }
    this.#notify = options.notify
    this.latencyMs = options.latencyMs ?? 0
  }

  static async start(options: SpApiEmulatorOptions): Promise<SpApiEmulator> {
    const { server, url } = await listenLoopback()
    const emulator = new SpApiEmulator(url, server, options)
    server.on('request', (req, res) => {
      emulator.#handle(req, res).catch(() => req.socket.destroy())
    })
    return emulator
  }

  /** The app behind an LWA client; `enrolled` stands for a queue registered for the new-secret notification. */
  addApplication(app: { applicationId: string; clientId: string; enrolled?: boolean }): void {
    const { applicationId, clientId } = app
    this.#apps.set(clientId, { applicationId, clientId, enrolled: app.enrolled ?? true, subscriptionId: randomUUID() })
  }

  setEnrolled(clientId: string, enrolled: boolean): void {
    this.#app(clientId).enrolled = enrolled
  }

  /** Whose account a refresh token opens; LWA-consent tokens are known without this. */
  setSellingPartner(refreshToken: string, sellingPartnerId: string): void {
    this.#sellers.set(refreshToken, sellingPartnerId)
  }

  /** RDTs for this path (concrete or template) are refused, for one app or for all. */
  forbidResource(path: string, clientId?: string): void {
    this.#forbidden.push({ path, clientId })
  }

  /** The secrets rotations minted for this client, oldest first. */
  secretsOf(clientId: string): string[] {
    return [...(this.#secrets.get(clientId) ?? [])]
  }

  /** The old secrets' ~7 days are over: LWA accepts only the newest rotated secret from now on. */
  retireOldSecrets(clientId: string): void {
    const newest = this.#secrets.get(clientId)?.at(-1)
    if (newest === undefined) throw new TypeError(`SpApiEmulator: no rotation happened for ${clientId}`)
    this.#lwa.setClientSecrets(clientId, [newest])
  }

  /** Delivers APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY for this client and returns the body. */
  async emitSecretExpiry(clientId: string, options: { expiresAtMs?: number; reason?: string } = {}): Promise<string> {
    const nowMs = this.#clock.now()
    const payload = {
      clientId,
      clientSecretExpiryTime: isoSeconds(options.expiresAtMs ?? nowMs + defaultExpiryNoticeMs),
      clientSecretExpiryReason: options.reason ?? 'PERIODIC_ROTATION',
    }
    const app = this.#app(clientId)
    const body = notificationBody({ type: secretExpiryType, payload, app, payloadVersion: this.payloadVersion, nowMs })
    await this.#deliver(body)
    return body
  }

  callCount(filter: SpApiCallFilter = {}): number {
    return this.calls.filter((c) =>
      (filter.operation === undefined || c.operation === filter.operation) &&
      (filter.status === undefined || c.status === filter.status) &&
      (filter.clientId === undefined || c.clientId === filter.clientId) &&
      (filter.sellingPartnerId === undefined || c.sellingPartnerId === filter.sellingPartnerId),
    ).length
  }

  /** The next `times` requests (to `operation`, if given) get this fault instead of their answer. */
  failNext(fault: SpApiFault, times = 1, operation?: SpApiOperation): void {
    this.#faults.push(fault, times, operation)
  }

  setFault(fault: SpApiFault | null): void {
    this.#faults.set(fault)
  }

  /** Forgets calls and faults; apps, sellers, secrets and RDTs stay. */
  reset(): void {
    this.calls.length = 0
    this.#faults.clear()
  }

  async close(): Promise<void> {
    await closeServer(this.server, this.#closing)
  }

  #app(clientId: string): App {
    const app = this.#apps.get(clientId)
    if (!app) throw new TypeError(`SpApiEmulator: unknown client ${clientId}; call addApplication first`)
    return app
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator.invalid').pathname
    const method = req.method ?? ''
    const found = route(method, path)
    const call: SpApiCall = { operation: found?.operation ?? '', method, path, status: 0, at: this.#clock.now() }
    this.calls.push(call)
    const presented = req.headers['x-amz-access-token']
    if (typeof presented === 'string') call.accessToken = presented
    const body = await readBody(req, maxBodyBytes)
    const fault = this.#faults.take(call.operation)
    if (fault?.kind === 'slow') await delay(fault.ms, this.#closing)
    await delay(this.latencyMs, this.#closing)
    if (fault?.kind === 'reset') {
      req.socket.resetAndDestroy()
      return
    }
    const reply = fault?.kind === 'status' ? faultReply(fault, found && plans[found.operation].header)
      : !found ? notFound()
      : body === undefined ? spError(413, 'RequestEntityTooLarge', tooLargeMessage)
      : await this.#operate(found, req.headers['x-amz-access-token'], body, call)
    call.status = reply.status
    if (reply.errorCode !== undefined) call.errorCode = reply.errorCode
    send(res, reply)
  }

  async #operate(found: Route, token: string | string[] | undefined, body: string, call: SpApiCall): Promise<Reply> {
    const principal = this.#principal(token)
    if ('status' in principal) return principal
    if (found.operation === 'getOrderAddress') return this.#orderAddress(principal, found.orderId, call)
    if (principal.kind === 'rdt') return unauthorized() // an RDT opens restricted operations only
    call.clientId = principal.grant.clientId
    if (found.operation === 'rotateApplicationClientSecret') return this.#rotate(principal.grant)
    if (found.operation === 'getDestinations') {
      const { grant } = principal
      return getDestinations(grant, () => this.#throttle('getDestinations', grant.clientId))
    }
    const seller = this.#seller(principal.grant)
    if ('status' in seller) return seller
    call.sellingPartnerId = seller.sellingPartnerId
    if (found.operation === 'createRestrictedDataToken') return this.#createRdt(seller, body)
    if (found.operation === 'getSubscription') {
      const throttled = () => this.#throttle('getSubscription', sellerKey(seller))
      return getSubscription(seller, found.notificationType ?? '', throttled)
    }
    return this.#participations(seller)
  }

  #principal(token: string | string[] | undefined): Principal | Reply {
    if (typeof token !== 'string' || token === '') return unauthorized()
    const nowMs = this.#clock.now()
    const rdt = this.#rdtsByToken.get(token)
    if (rdt) return nowMs < rdt.expiresAtMs ? { kind: 'rdt', rdt } : unauthorized(expiredTokenDetails)
    const grant = this.#lwa.grantOf(token)
    if (!grant) return unauthorized(invalidTokenDetails)
    return nowMs < grant.expiresAtMs ? { kind: 'lwa', grant } : unauthorized(expiredTokenDetails)
  }

  /** Grantless tokens have no seller; a seller's token must be known to belong to someone. */
  #seller(grant: LwaGrantInfo): Seller | Reply {
    if (grant.refreshToken === undefined) return unauthorized()
    const sellingPartnerId = this.#sellers.get(grant.refreshToken) ?? grant.sellingPartnerId
    if (sellingPartnerId === undefined) return unauthorized(unknownSellerDetails)
    return { clientId: grant.clientId, sellingPartnerId }
  }

  /** Takes a token from the operation's bucket; undefined when allowed, the 429 otherwise. */
  #throttle(operation: SpApiOperation, key: string): Reply | undefined {
    return this.#buckets[operation].take(key, this.#clock.now()) ? undefined : withRateLimit(quotaExceeded(), operation)
  }

  async #rotate(grant: LwaGrantInfo): Promise<Reply> {
    const scopes = grant.scope?.split(' ') ?? []
    if (grant.grantType !== 'client_credentials' || !scopes.includes(rotationScope)) return unauthorized()
    const throttled = this.#throttle('rotateApplicationClientSecret', grant.clientId)
    if (throttled) return throttled
    const app = this.#apps.get(grant.clientId)
    if (!app?.enrolled) return withRateLimit(invalidInput('', notEnrolledMessage), 'rotateApplicationClientSecret')

    const secret = 'amzn1.oa2-cs.v1.' + randomBytes(32).toString('hex')
    const minted = this.#secrets.get(app.clientId) ?? []
    minted.push(secret)
    this.#secrets.set(app.clientId, minted)
    this.#lwa.addClientSecret(app.clientId, secret)
    const nowMs = this.#clock.now()
    const payload = {
      clientId: app.clientId,
      newClientSecret: secret,
      newClientSecretExpiryTime: isoSeconds(nowMs + newSecretLifetimeMs),
      oldClientSecretExpiryTime: isoSeconds(nowMs + oldSecretOverlapMs),
    }
    const body = notificationBody({ type: newSecretType, payload, app, payloadVersion: this.payloadVersion, nowMs })
    await this.#deliver(body)
    return withRateLimit({ status: 204 }, 'rotateApplicationClientSecret')
  }

  #createRdt(seller: Seller, body: string): Reply {
    const throttled = this.#throttle('createRestrictedDataToken', sellerKey(seller))
    if (throttled) return throttled
    const checked = this.#rdtRequest(seller, body)
    if ('status' in checked) return withRateLimit(checked, 'createRestrictedDataToken')
    const rdt: MintedRdt = {
      restrictedDataToken: 'Atz.sprdt|' + randomBytes(240).toString('base64url'),
      ...seller,
      ...checked,
      expiresAtMs: this.#clock.now() + rdtExpiresInSeconds * 1000,
    }
    this.rdts.push(rdt)
    this.#rdtsByToken.set(rdt.restrictedDataToken, rdt)
    const answer = { restrictedDataToken: rdt.restrictedDataToken, expiresIn: rdtExpiresInSeconds }
    return withRateLimit(json(200, answer), 'createRestrictedDataToken')
  }

  /** The body of createRestrictedDataToken, checked as the Tokens API does. */
  #rdtRequest(seller: Seller, body: string): Pick<MintedRdt, 'resources' | 'targetApplication'> | Reply {
    const refused = (classified: Accepted): boolean => this.#forbidden.some((f) =>
      (f.clientId === undefined || f.clientId === seller.clientId) && names(f.path, classified))
    const request = parseRdtRequest(body, refused)
    if ('invalid' in request) return invalidInput(request.invalid)
    if ('forbidden' in request) return this.#forbiddenResource()
    return request
  }

  #forbiddenResource(): Reply {
    const status = this.forbiddenResourceStatus
    return spError(status, status === 403 ? 'Unauthorized' : 'InvalidInput', forbiddenResourceMessage)
  }

  #orderAddress(principal: Principal, orderId: string | undefined, call: SpApiCall): Reply {
    if (principal.kind !== 'rdt') {
      call.clientId = principal.grant.clientId
      return unauthorized()
    }
    const { rdt } = principal
    call.clientId = rdt.clientId
    call.sellingPartnerId = rdt.sellingPartnerId
    if (!covers(rdt.resources, 'GET', call.path, 'shippingAddress')) return unauthorized()
    const throttled = this.#throttle('getOrderAddress', sellerKey(rdt))
    if (throttled) return throttled
    const payload = { AmazonOrderId: orderId, ShippingAddress: sampleShippingAddress }
    return withRateLimit(json(200, { payload }), 'getOrderAddress')
  }

  #participations(seller: Seller): Reply {
    const throttled = this.#throttle('getMarketplaceParticipations', sellerKey(seller))
    if (throttled) return throttled
    const payload = [usParticipation]
    // Amazon does not say whose account answered; the emulator does, for tests only.
    const reply = withRateLimit(json(200, { payload }), 'getMarketplaceParticipations')
    return { ...reply, headers: { ...reply.headers, 'x-emulator-selling-partner-id': seller.sellingPartnerId } }
  }

  async #deliver(body: string): Promise<void> {
    this.notifications.push(body)
    try {
      await this.#notify?.(body)
    } catch (err) {
      this.notifyErrors.push(err)
    }
  }
}

function sellerKey(seller: Seller): string {
  return `${seller.sellingPartnerId}\n${seller.clientId}`
}
