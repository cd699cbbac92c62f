// python-amazon-sp-api 2.1.x's AccessTokenClient as the issue records it, told in TypeScript:
// a Python package cannot be installed here (PyPI is out of reach), and this SDK's rules are the
// hardest a token service in front of LWA must meet. It caches every token for a fixed 3200 s
// whatever `expires_in` says, gives up after 5 s (httpx's default), parses the body as JSON before
// it looks at the status, never retries, and names a grantless credential by client_id and scope.
// Pointed at the broker as its `auth_token_client_class` argument would point it.
import { compatSdkTests } from '../support/compat-sdk-scenarios.js'
import type { SdkEnv, SdkSpec, Surfaced } from '../support/compat-sdk-fixture.js'
import { notificationsScope } from '../support/sp-api-destinations.js'

const cacheSeconds = 3200
const timeoutMs = 5000

class TokenRefused extends Error {
  constructor(readonly status: number, readonly error: string | undefined, readonly retryAfter: string | null) {
    super(`token request answered ${status}`)
  }
}

function client(env: SdkEnv, grantless: boolean) {
  let cached: { token: string; atMs: number } | undefined
  const form: Record<string, string> = grantless
    ? { grant_type: 'client_credentials', client_id: env.clientId, client_secret: env.jwt, scope: notificationsScope }
    : { grant_type: 'refresh_token', client_id: env.clientId, client_secret: env.jwt, refresh_token: env.credential }
  const token = async (): Promise<string> => {
    if (cached && Date.now() - cached.atMs < cacheSeconds * 1000) return cached.token
    const res = await fetch(`${env.brokerUrl}/auth/o2/token`, {
      method: 'POST', body: new URLSearchParams(form), signal: AbortSignal.timeout(timeoutMs),
    })
    const body = await res.json() as { access_token?: string; error?: string }
    if (res.status !== 200 || body.access_token === undefined) {
      throw new TokenRefused(res.status, body.error, res.headers.get('retry-after'))
    }
    cached = { token: body.access_token, atMs: Date.now() }
    return cached.token
  }
  const path = grantless ? '/notifications/v1/destinations' : '/sellers/v1/marketplaceParticipations'
  return {
    call: async () => {
      const res = await fetch(`${env.apiUrl}${path}`, { headers: { 'x-amz-access-token': await token() } })
      if (!res.ok) throw new Error(`SP-API answered ${res.status}`)
      return res.json()
    },
    forget: () => { cached = undefined },
  }
}

const spec: SdkSpec = {
  name: 'python-amazon-sp-api 2.1.x (a model)',
  api: 'sp-api',
  cacheRule: { kind: 'fixed', seconds: cacheSeconds },
  lwaTimeoutMs: timeoutMs,
  globalAgent: false,
  clients: { seller: (env) => client(env, false), grantless: (env) => client(env, true) },
  surfaced: (err): Surfaced => err instanceof TokenRefused
    ? { status: err.status, ...(err.error ? { error: err.error } : {}), ...(err.retryAfter ? { retryAfter: err.retryAfter } : {}), timedOut: false }
    : { timedOut: (err as Error | undefined)?.name === 'TimeoutError' },
}

compatSdkTests(spec)
