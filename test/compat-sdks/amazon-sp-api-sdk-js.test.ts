// The official SDK, @amazon-sp-api-release/amazon-sp-api-sdk-js: each API's ApiClient refreshes
// through a private LwaOAuthClient, a superagent POST to the fixed https://api.amazon.com with
// no agent and no timeout (the ApiClient's `requestAgent` and 60 s `timeout` are for SP-API
// calls only). So the test routes Node's default agent; it caches for expires_in - 60 s.
import { compatSdkTests } from '../support/compat-sdk-scenarios.js'
import type { SdkEnv, SdkSpec, Surfaced } from '../support/compat-sdk-fixture.js'
import { notificationsScope } from '../support/sp-api-destinations.js'

// The package exports only its root, which has no types: what these tests use of it, by hand.
interface ApiClient {
  enableAutoRetrievalAccessToken(clientId: string, secret: string, refreshToken: string | null, scope?: string):
    ApiClient
  clearAccessTokenCache(): void
}
interface OfficialSdk {
  SellersSpApi: {
    ApiClient: new (baseUrl: string) => ApiClient
    SellersApi: new (client: ApiClient) => { getMarketplaceParticipations(): Promise<unknown> }
  }
  NotificationsSpApi: {
    ApiClient: new (baseUrl: string) => ApiClient
    NotificationsApi: new (client: ApiClient) => { getDestinations(): Promise<unknown> }
  }
}
const packageName: string = '@amazon-sp-api-release/amazon-sp-api-sdk-js'
const { SellersSpApi, NotificationsSpApi } = await import(packageName) as OfficialSdk

function seller(env: SdkEnv) {
  const api = new SellersSpApi.ApiClient('https://sellingpartnerapi-eu.amazon.com')
    .enableAutoRetrievalAccessToken(env.clientId, env.jwt, env.credential)
  const sellers = new SellersSpApi.SellersApi(api)
  return { call: () => sellers.getMarketplaceParticipations(), forget: () => api.clearAccessTokenCache() }
}

function grantless(env: SdkEnv) {
  const api = new NotificationsSpApi.ApiClient('https://sellingpartnerapi-na.amazon.com')
    .enableAutoRetrievalAccessToken(env.clientId, env.jwt, null, notificationsScope)
  const notifications = new NotificationsSpApi.NotificationsApi(api)
  return { call: () => notifications.getDestinations(), forget: () => api.clearAccessTokenCache() }
}

/** superagent's error: the HTTP status, the parsed JSON body and headers, or `timeout` set. */
function surfaced(err: unknown): Surfaced {
  type Response = { body?: { error?: string }; headers?: Record<string, string> }
  const e = err as { status?: number; timeout?: number; response?: Response } | undefined
  const retryAfter = e?.response?.headers?.['retry-after']
  return {
    ...(e?.status !== undefined ? { status: e.status } : {}),
    ...(e?.response?.body?.error !== undefined ? { error: e.response.body.error } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    timedOut: e?.timeout !== undefined,
  }
}

const spec: SdkSpec = {
  name: '@amazon-sp-api-release/amazon-sp-api-sdk-js 1.12.0',
  api: 'sp-api',
  cacheRule: { kind: 'expires-in', marginSeconds: 60 },
  lwaTimeoutMs: undefined,
  globalAgent: true,
  clients: { seller, grantless },
  surfaced,
}

compatSdkTests(spec)
