// @sp-api-sdk/* (bizon): SellingPartnerApiAuth posts JSON with its own module-level axios
// instance (baseURL https://api.amazon.com/auth/, timeout 30 s) that no option reaches, and
// caches until request start + expires_in; the API clients' axios call fixed regional hosts.
// Neither names an agent, so the test routes Node's default agent by host.
import { SellingPartnerApiAuth, AuthorizationScope } from '@sp-api-sdk/auth'
import { NotificationsApiClient } from '@sp-api-sdk/notifications-api-v1'
import { compatSdkTests } from '../support/compat-sdk-scenarios.js'
import { axiosSurfaced, type SdkEnv, type SdkSpec } from '../support/compat-sdk-fixture.js'

// One client package for both grants: getSubscription is a seller's operation, getDestinations grantless.
// The clients keep the auth they were made with, so forgetting the token is a new pair.
function client(env: SdkEnv, grantless: boolean) {
  const make = () => new NotificationsApiClient({
    auth: new SellingPartnerApiAuth(grantless
      ? { clientId: env.clientId, clientSecret: env.jwt, scopes: [AuthorizationScope.NOTIFICATIONS] }
      : { clientId: env.clientId, clientSecret: env.jwt, refreshToken: env.credential }),
    region: grantless ? 'na' : 'eu',
  })
  let api = make()
  return {
    call: () => grantless ? api.getDestinations() : api.getSubscription({ notificationType: 'ANY_OFFER_CHANGED' }),
    forget: () => { api = make() },
  }
}

const spec: SdkSpec = {
  name: '@sp-api-sdk/auth 3.1.4',
  api: 'sp-api',
  cacheRule: { kind: 'expires-in', marginSeconds: 0 },
  lwaTimeoutMs: 30_000,
  globalAgent: true,
  clients: { seller: (env) => client(env, false), grantless: (env) => client(env, true) },
  surfaced: axiosSurfaced,
}

compatSdkTests(spec)
