// amazon-sp-api (npm): every request, LWA's too, is `https.request` to a fixed host through the
// one agent of its `https_proxy_agent` option, so a host-routed agent sends the LWA call to the
// broker and SP-API calls to the emulator. It keeps a token until SP-API answers 403 "access
// token … expired", then refreshes and retries; it has no timeout unless `timeouts` is set.
import { SellingPartner } from 'amazon-sp-api'
import { compatSdkTests } from '../support/compat-sdk-scenarios.js'
import type { SdkEnv, SdkSpec } from '../support/compat-sdk-fixture.js'
import { HostRoutedAgent } from '../support/host-routed-agent.js'
import { notificationsScope } from '../support/sp-api-destinations.js'

interface Sdk {
  callAPI(params: Record<string, unknown>): Promise<unknown>
  refreshAccessToken(scope?: string): Promise<void>
}
const Client = SellingPartner as unknown as new (config: Record<string, unknown>) => Sdk

function client(env: SdkEnv, grantless: boolean) {
  const agent = new HostRoutedAgent(env.routes)
  env.teardown(() => agent.destroy())
  const sdk = new Client({
    region: grantless ? 'na' : 'eu',
    ...(grantless ? {} : { refresh_token: env.credential }),
    credentials: { SELLING_PARTNER_APP_CLIENT_ID: env.clientId, SELLING_PARTNER_APP_CLIENT_SECRET: env.jwt },
    options: { https_proxy_agent: agent, auto_request_throttled: false, only_grantless_operations: grantless },
  })
  const operation = grantless
    ? { operation: 'getDestinations', endpoint: 'notifications' }
    : { operation: 'getMarketplaceParticipations', endpoint: 'sellers' }
  return {
    call: () => sdk.callAPI(operation),
    forget: () => sdk.refreshAccessToken(grantless ? notificationsScope : undefined),
  }
}

const spec: SdkSpec = {
  name: 'amazon-sp-api 1.2.1',
  api: 'sp-api',
  cacheRule: { kind: 'until-rejected' },
  lwaTimeoutMs: undefined,
  globalAgent: false,
  clients: { seller: (env) => client(env, false), grantless: (env) => client(env, true) },
  // Its CustomError carries LWA's `error` as `code`; the HTTP status is not kept.
  surfaced: (err) => {
    const code = (err as { code?: unknown } | undefined)?.code
    return { ...(typeof code === 'string' ? { error: code } : {}), timedOut: /TIMEOUT/.test(String(code)) }
  },
}

compatSdkTests(spec)
