// @scaleleap/amazon-advertising-api-sdk: pointed by its options alone. Its OAuthClient hands
// client-oauth2 the caller's options over its own defaults, so `accessTokenUri` is the broker's
// and `body` carries the JWT as client_secret (client-oauth2 also sends Basic client auth, which
// the broker ignores when the body has one); the Marketplace object names the Ads host. The SDK
// keeps no token: the caller refreshes when client-oauth2's `expired()` (expires_in, no margin)
// says so. Its axios instance has no timeout.
import { AmazonAdvertising, OAuthClient, type Marketplace } from '@scaleleap/amazon-advertising-api-sdk'
import { adsProfileId, axiosSurfaced, type SdkEnv, type SdkSpec } from '../support/compat-sdk-fixture.js'
import { compatSdkTests } from '../support/compat-sdk-scenarios.js'

type Token = ReturnType<OAuthClient['createToken']>

function advertiser(env: SdkEnv) {
  const marketplace: Marketplace = {
    name: 'United States',
    advertising: {
      region: {
        authorizationUri: 'https://www.amazon.com/ap/oa',
        accessTokenUri: `${env.brokerUrl}/auth/o2/token`,
        endpoint: env.apiUrl,
      },
    },
  }
  const oauth = new OAuthClient({
    clientId: env.clientId, clientSecret: 'unused', redirectUri: 'https://app.example/callback',
    body: { client_secret: env.jwt },
  }, marketplace)
  let token: Token | undefined
  return {
    call: async () => {
      if (!token || token.expired()) token = await oauth.createToken('', env.credential).refresh()
      const auth = { accessToken: token.accessToken, clientId: env.clientId, scope: Number(adsProfileId) }
      return new AmazonAdvertising(marketplace, auth).profile.listProfiles()
    },
    forget: () => { token = undefined },
  }
}

const spec: SdkSpec = {
  name: '@scaleleap/amazon-advertising-api-sdk 3.8.3',
  api: 'ads',
  cacheRule: { kind: 'expires-in', marginSeconds: 0 },
  lwaTimeoutMs: undefined,
  globalAgent: false,
  // The Ads API has no grantless grant.
  clients: { seller: advertiser },
  surfaced: axiosSurfaced,
}

compatSdkTests(spec)
