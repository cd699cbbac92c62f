import { Type } from 'typebox'
import { RequestIdHeaders } from './common.js'
import type { HeaderSpec } from './headers.js'
import { pageReply, redirectReply } from './replies.js'

export const LinkParams = Type.Object({
  link: Type.String({
    pattern: '^[A-Za-z0-9_-]{16,64}$',
    description: 'The link id, the last path segment of the URL `POST /admin/onboarding` answered.',
  }),
})

/**
 * What Amazon's redirect may carry (Ads: code, scope; SP-API: spapi_oauth_code, selling_partner_id; both: state,
 * error).
 */
export const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({
    maxLength: 2048,
    description: 'The `state` the broker sent to Amazon, as Amazon returns it.',
  })),
  code: Type.Optional(Type.String({
    maxLength: 2048,
    description: 'The Ads API\'s authorization code (valid about five minutes, once).',
  })),
  spapi_oauth_code: Type.Optional(Type.String({
    maxLength: 2048,
    description: 'The SP-API\'s authorization code (valid about five minutes, once).',
  })),
  selling_partner_id: Type.Optional(Type.String({
    pattern: '^[A-Z0-9]{1,32}$',
    description: 'The SP-API seller\'s id: the account connected.',
  })),
  scope: Type.Optional(Type.String({ maxLength: 256, description: 'The scope the Ads API granted (ignored).' })),
  error: Type.Optional(Type.String({
    maxLength: 256,
    description: 'Set by Amazon when the consent was declined or failed (e.g. `access_denied`).',
  })),
  error_description: Type.Optional(Type.String({
    maxLength: 2048,
    description: 'Amazon\'s description of `error` (not shown).',
  })),
})

export const page = (title: string, message: string): string =>
  '<!doctype html><html lang="en"><head><meta charset="utf-8">'
  + `<title>lwa-broker: ${title}</title></head><body><h1>${title}</h1><p id="message">${message}</p></body></html>`
export const refused = (message: string): string => page('Not connected', message)

export const sidecar = pageReply(
  'In sidecar mode, a page refusing a request that is not a direct loopback one.',
  refused('sidecar mode serves only direct loopback requests'),
)
export const tooMany = pageReply(
  'Too many requests from this address (`rateLimit.onboardingMax` per window).',
  refused('Too many requests from this address. Wait a minute and try again.'),
)
export const bug = pageReply(
  'Something went wrong (a bug). Nothing was stored.',
  refused('Something went wrong. Nothing was stored.'),
)
export const unknownLink = pageReply(
  'The link has expired, was already used, or was issued by another replica (`link_invalid`); ask an admin for a '
    + 'new one.',
  refused('This link is not valid here: it has expired, was already used, or was issued by another broker replica '
    + '(without a shared Redis, onboarding needs a single replica or sticky sessions). Ask for a new one.'),
)
export const badRequest = pageReply('The link id or the request is not valid.', refused('This request is not valid.'))

export const onboardingRoute = <T extends Record<string, unknown>>(fields: T) => ({
  tags: ['onboarding'], security: [], headers: RequestIdHeaders, ...fields,
})

export const openLinkSchema = onboardingRoute({
  operationId: 'openOnboardingLink',
  summary: 'Open a one-time onboarding link (a browser page).',
  description: 'Served only when `onboarding` is configured. The page names the credential and has a **Continue to '
    + 'Amazon** button that POSTs to this URL: fetching the link (a mail scanner, a link preview) uses nothing up. No '
    + 'JWT: the link is the capability. Rate-limited per address.',
  params: LinkParams,
  response: {
    200: pageReply(
      'A page naming the credential, with a button that continues to Amazon.',
      `${page('Connect an Amazon account', 'You are about to connect an Amazon account to credential ads-us.')}`,
    ),
    400: badRequest, 403: sidecar, 410: unknownLink, 429: tooMany, 500: bug,
  },
})

export const cookieHeader: Record<string, HeaderSpec> = {
  'Set-Cookie': {
    type: 'string', pattern: '^lwa_broker_onboarding=[A-Za-z0-9_-]+;',
    description: '`lwa_broker_onboarding=<nonce>; Max-Age=<onboarding.stateTtlSeconds>; Path=<publicUrl '
      + 'path>/oauth/callback; HttpOnly; SameSite=Lax`, plus `Secure` when `onboarding.publicUrl` is `https:`. It '
      + 'binds the `state` to this browser.',
  },
  Location: {
    type: 'string',
    format: 'uri',
    description: 'Amazon\'s consent page for the credential\'s API and region, with `redirect_uri` and a fresh signed '
      + '`state`.',
  },
}

export const beginSchema = onboardingRoute({
  operationId: 'beginOnboarding',
  summary: 'Continue from the link to Amazon\'s consent page (the page\'s button).',
  description: 'Uses the link up and sends the browser to Amazon\'s consent page (Ads: `/ap/oa` with `client_id`, '
    + '`scope`, `response_type=code`; SP-API: the website workflow with `application_id` and `version=beta` for a '
    + 'draft app), with a fresh signed `state` and a cookie that binds the round trip to this browser. Audited as '
    + '`onboarding.started` with the browser\'s address and user agent. If the attempt later fails on the broker\'s '
    + 'side (LWA, Secrets Manager or the Ads API down), the link works again.',
  params: LinkParams,
  response: {
    303: redirectReply('To Amazon\'s consent page, with no body.', cookieHeader),
    400: badRequest, 403: sidecar, 410: unknownLink, 429: tooMany, 500: bug,
    503: pageReply(
      'The app\'s client credentials cannot be read right now; the link is not used up.',
      refused('The app&#39;s client credentials cannot be read right now. Try again later.'),
    ),
  },
})

export const callbackSchema = onboardingRoute({
  operationId: 'onboardingCallback',
  summary: 'Where Amazon sends the browser back after consent (a browser page).',
  description: 'Served only when `onboarding` is configured; register `<onboarding.publicUrl>/oauth/callback` as the '
    + 'app\'s allowed return URL (Ads) or OAuth redirect URI (SP-API). The broker checks the `state` (its own, '
    + 'unexpired, unused, back in the browser that started the flow), exchanges the code with LWA, learns the account '
    + '(SP-API: `selling_partner_id`; Ads: the new token\'s profiles), refuses an account other than the expected one '
    + 'or another than the credential is connected to (unless the link said replace), stores the refresh token with '
    + 'the account as a new version of the grant secret, and drops the cached token on every replica. The page never '
    + 'shows a token. Audited as `onboarding.completed` (with the account), or `onboarding.failed` with the reason. '
    + 'When the failure was on the broker\'s side, the link and the state work again.',
  querystring: CallbackQuery,
  response: {
    200: pageReply(
      'A page saying which credential is now connected to which Amazon account. The binding cookie is cleared.',
      page('Connected', 'Credential ads-us is connected to Amazon account A2ADVERTISER01. You can close this page.'),
      {
        'Set-Cookie': {
          type: 'string',
          pattern: '^lwa_broker_onboarding=;',
          description: 'Clears the binding cookie.',
        },
      },
    ),
    400: pageReply(
      'Why nothing was stored: a missing, forged, expired or used `state`, another browser, a declined consent, no '
        + 'code, a code LWA refused, or no account named by Amazon.',
      refused('This authorization must be finished in the browser that started it. Nothing was stored.'),
    ),
    403: pageReply(
      'The connected account is not the one the link names (or, in sidecar mode, a proxied request).',
      refused('You connected Amazon account A2ATTACKER, but this link is for account A1ACCOUNTA. Nothing was stored.'),
    ),
    409: pageReply(
      'The credential is connected to another account and the link does not replace it, its grant secret does not '
        + 'exist yet, or the name a `create` link gives the new credential is taken by something else '
        + '(`name_unusable`).',
      refused('Credential sp-acme-eu is already connected to Amazon account A1ACCOUNTA. Nothing was stored; an admin '
        + 'can make a link that replaces it.'),
    ),
    410: unknownLink,
    429: tooMany,
    500: bug,
    503: pageReply(
      'LWA, Secrets Manager, the Ads API or the shared store (Redis) could not be reached, or the backend cannot '
        + 'store; nothing was stored and the link works again.',
      refused('Login with Amazon is unavailable right now. Nothing was stored; open the link again later.'),
    ),
  },
})
