// What every SDK compatibility test (test/compat-sdks/) stands on: a real broker (in-process on
// a loopback port, or as a process that can be restarted), the LWA emulator behind it, the
// SP-API and Ads emulators the SDK's API calls reach with the broker's token, and the routes
// an SDK's host-aware agent uses: only `api.amazon.com` goes to the broker. An SDK test says
// how its SDK is pointed (SdkSpec) and compat-sdk-scenarios.ts runs the same four scenarios.
import { fixtures, build, mintJwt, seedEmulator, type Harness } from '../helper.js'
import { AdsEmulator } from './ads-emulator.js'
import { FakeClock } from './fake-clock.js'
import { routeGlobalAgent } from './global-agent.js'
import { LwaEmulator } from './lwa-emulator.js'
import { SpApiEmulator } from './sp-api-emulator.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

/** The broker's own LWA timeout in these tests: above lwaCompat's deadline, so the deadline is what answers. */
const brokerLwaTimeoutMs = 15_000
export const sellingPartnerId = 'A3SELLERCOMPAT'
export const adsProfileId = '2502259796'
const caller = { sub: 'system:serviceaccount:platform:all' }
// The SDK keeps its client secret (the JWT) for the whole test; the aging scenario moves the clock ~2 h.
const jwtLifetimeSeconds = 4 * 3600

/** How an SDK decides its cached token is still good. */
export type CacheRule =
  | { kind: 'expires-in'; marginSeconds: number } // until receipt + expires_in - margin
  | { kind: 'fixed'; seconds: number } // a fixed time whatever expires_in says
  | { kind: 'until-rejected' } // no clock at all: until the API answers "expired"

export type Grant = 'seller' | 'grantless'

export interface SdkEnv {
  /** Host -> loopback URL, for an SDK's host-routed agent. */
  routes: Readonly<Record<string, string>>
  brokerUrl: string
  /** The SP-API or Ads emulator, for an SDK that takes a base URL. */
  apiUrl: string
  /** The caller's JWT: the SDK's client secret. */
  jwt: string
  /** The broker credential a refresh_token grant names. */
  credential: string
  /** The app's real client id (the Ads API checks it against the token). */
  clientId: string
  teardown(fn: () => unknown): void
}

export interface SdkClient {
  /** One API call through the SDK, which asks for a token when it thinks it needs one. */
  call(): Promise<unknown>
  /** Makes the SDK get a new token, through its own API (or, with none, by a new instance). */
  forget(): void | Promise<void>
}

/** What an SDK's error says about the LWA answer behind it. */
export interface Surfaced { status?: number; error?: string; retryAfter?: string; timedOut: boolean }

/** An axios error (both axios-based SDKs throw one): HTTP status, LWA's JSON error and Retry-After, or its timeout. */
export function axiosSurfaced(err: unknown): Surfaced {
  type Response = { status?: number; data?: { error?: string }; headers?: Record<string, unknown> }
  const e = err as { code?: string; response?: Response } | undefined
  const retryAfter = e?.response?.headers?.['retry-after']
  return {
    ...(e?.response?.status !== undefined ? { status: e.response.status } : {}),
    ...(e?.response?.data?.error !== undefined ? { error: e.response.data.error } : {}),
    ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}),
    timedOut: e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT',
  }
}

export interface SdkSpec {
  name: string
  api: 'sp-api' | 'ads'
  cacheRule: CacheRule
  /** The SDK's own timeout on the LWA request; undefined: it has none. */
  lwaTimeoutMs: number | undefined
  /** The SDK's LWA request names no agent, so the test routes `https.globalAgent`. */
  globalAgent: boolean
  clients: Partial<Record<Grant, (env: SdkEnv) => SdkClient>>
  surfaced(err: unknown): Surfaced
}

export interface BrokerAnswer {
  status: number
  accessToken?: string
  expiresIn?: number
  error?: string
  retryAfter?: string
}
export interface ApiCall { status: number; accessToken?: string }

/** The peers and records one scenario needs, whichever way the broker runs. */
export interface CompatWorld {
  lwa: LwaEmulator
  env: SdkEnv
  /** Every API call the emulator of the spec's API saw. */
  apiCalls(): ApiCall[]
}

export interface InProcessWorld extends CompatWorld {
  h: Harness
  clock: FakeClock
  /** Every request that reached the broker, as `METHOD /path`. */
  brokerRequests: string[]
  /** What the broker answered on /auth/o2/token, in order. */
  answers: BrokerAnswer[]
}

/** The emulators the SDK's API calls reach, on `clock`, knowing the seller and advertiser. */
export async function apiEmulators(t: Test, lwa: LwaEmulator, clock?: FakeClock) {
  const spApi = await SpApiEmulator.start({ lwa, ...(clock ? { clock } : {}) })
  t.teardown(() => spApi.close())
  spApi.setSellingPartner(fixtures.spRefreshToken, sellingPartnerId)
  const ads = await AdsEmulator.start({ lwa, ...(clock ? { clock } : {}) })
  t.teardown(() => ads.close())
  ads.setProfiles(fixtures.adsRefreshToken, [{
    profileId: adsProfileId, countryCode: 'US', currencyCode: 'USD', timezone: 'America/Los_Angeles',
    accountInfo: {
      marketplaceStringId: 'ATVPDKIKX0DER', id: 'A2ADVERTISER', type: 'seller', name: 'Acme', validPaymentMethod: true,
    },
  }])
  return { spApi, ads }
}

/** Routes, JWT and credential for one SDK and grant; installs the global agent when the spec needs it. */
export function sdkEnv(t: Test, spec: SdkSpec, grant: Grant, peers: {
  brokerUrl: string; spApi: SpApiEmulator; ads: AdsEmulator; jwt: string
}): SdkEnv & { apiCalls(): ApiCall[] } {
  const { brokerUrl, spApi, ads, jwt } = peers
  const routes = {
    'api.amazon.com': brokerUrl,
    'sellingpartnerapi-na.amazon.com': spApi.url,
    'sellingpartnerapi-eu.amazon.com': spApi.url,
    'advertising-api.amazon.com': ads.url,
  }
  if (spec.globalAgent) routeGlobalAgent(t, routes)
  const isAds = spec.api === 'ads'
  return {
    routes, brokerUrl, jwt, apiUrl: isAds ? ads.url : spApi.url,
    credential: isAds ? 'ads-us' : grant === 'seller' ? 'sp-acme-eu' : 'sp-notifications',
    clientId: isAds ? fixtures.adsClient.clientId : fixtures.spClient.clientId,
    teardown: (fn) => t.teardown(fn),
    apiCalls: () => (isAds ? ads.calls : spApi.calls).map(({ status, accessToken }) => ({ status, accessToken })),
  }
}

/**
 * The broker in this process, listening on loopback, on a fake clock the LWA and API emulators
 * share, so a token's age is the broker's and the emulators' alike.
 */
export async function inProcessWorld(t: Test, spec: SdkSpec, grant: Grant): Promise<InProcessWorld> {
  const clock = new FakeClock()
  const lwa = await LwaEmulator.start({ clock })
  t.teardown(() => lwa.close())
  seedEmulator(lwa)
  const h = await build(t, {
    lwa, clock,
    config: (c) => ({ ...c, lwa: { ...(c.lwa as object), timeoutMs: brokerLwaTimeoutMs } }),
  })
  const brokerRequests: string[] = []
  const answers: BrokerAnswer[] = []
  h.app.addHook('onRequest', async (request) => { brokerRequests.push(`${request.method} ${request.url}`) })
  h.app.addHook('onSend', async (request, reply, payload) => {
    if (request.url === '/auth/o2/token' && typeof payload === 'string') {
      answers.push(answerOf(reply.statusCode, payload, reply.getHeader('retry-after')))
    }
    return payload
  })
  const brokerUrl = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const { spApi, ads } = await apiEmulators(t, lwa, clock)
  const jwt = await h.jwt({ claims: caller, lifetimeSeconds: jwtLifetimeSeconds })
  const { apiCalls, ...env } = sdkEnv(t, spec, grant, { brokerUrl, spApi, ads, jwt })
  return { h, clock, lwa, env, apiCalls, brokerRequests, answers }
}

/** A caller JWT for a broker process (processFixture's keys, the wall clock). */
export const processJwt = (keys: Parameters<typeof mintJwt>[0]) =>
  mintJwt(keys, { claims: caller, lifetimeSeconds: jwtLifetimeSeconds })

function answerOf(status: number, payload: string, retryAfter: unknown): BrokerAnswer {
  const body = JSON.parse(payload) as { access_token?: string; expires_in?: number; error?: string }
  return {
    status,
    ...(body.access_token !== undefined ? { accessToken: body.access_token } : {}),
    ...(body.expires_in !== undefined ? { expiresIn: body.expires_in } : {}),
    ...(body.error !== undefined ? { error: body.error } : {}),
    ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}),
  }
}

/** How long an SDK will go on using a token it received with `expiresIn`, by its cache rule. */
export function sdkUseMs(rule: CacheRule, expiresIn: number): number {
  switch (rule.kind) {
    case 'expires-in': return (expiresIn - rule.marginSeconds) * 1000
    case 'fixed': return rule.seconds * 1000
    // It keeps the token until the API refuses it, then asks again (the scenario proves it
    // recovers): what it must be told is only the truth.
    case 'until-rejected': return expiresIn * 1000
  }
}

/**
 * The token an SDK was handed (the broker's last answer, received now) truly lives, by the LWA
 * emulator's own record of its expiry, as long as the SDK will use it by its own rule (never by
 * the broker's settings). Fails the compatibility test when the broker would hand an SDK a token
 * it uses past expiry: a fixed-time cache longer than the life left, or an `expires_in` that lies.
 */
export function assertSdkWillNotOutliveToken(t: Test, w: InProcessWorld, spec: SdkSpec, answer: BrokerAnswer): void {
  const grant = answer.accessToken === undefined ? undefined : w.lwa.grantOf(answer.accessToken)
  if (!grant || answer.expiresIn === undefined) {
    t.fail('the SDK was handed a token LWA minted, with expires_in')
    return
  }
  const livesMs = grant.expiresAtMs - w.clock.now()
  const usesMs = sdkUseMs(spec.cacheRule, answer.expiresIn)
  t.ok(livesMs >= usesMs, `${spec.name} (${spec.cacheRule.kind}) uses it ${usesMs / 1000} s; it lives ${livesMs / 1000} s`)
  t.ok(answer.expiresIn * 1000 <= livesMs, 'expires_in does not promise more life than the token has')
}
