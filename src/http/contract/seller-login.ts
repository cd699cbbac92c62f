import { Type } from 'typebox'
import type { HeaderSpec } from './headers.js'
import { bug, cookieHeader, onboardingRoute, refused, tooMany, unknownLink } from './onboarding.js'
import { pageReply, redirectReply } from './replies.js'

/** What Seller Central or Vendor Central sends to the app's OAuth Login URI. */
export const LoginQuery = Type.Object({
  amazon_callback_uri: Type.Optional(Type.String({
    maxLength: 2048,
    description: 'Where Amazon wants the browser back. Only a Seller Central or Vendor Central origin of a region '
      + '(defaults, or `onboarding.amazonOrigins`) is followed; its region is the authorization\'s.',
  })),
  amazon_state: Type.Optional(Type.String({ maxLength: 2048, description: 'Amazon\'s own state, sent back as is.' })),
  selling_partner_id: Type.Optional(Type.String({
    pattern: '^[A-Z0-9]{1,32}$', description: 'The seller signing in.',
  })),
  version: Type.Optional(Type.String({ maxLength: 16, description: '`beta` for a draft app; sent back.' })),
})

export const PresentedLink = Type.Object({
  link: Type.String({
    minLength: 1, maxLength: 512, description: 'The one-time onboarding link an admin gave the seller (URL or id).',
  }),
})

const toAmazonHeaders: Record<string, HeaderSpec> = {
  'Set-Cookie': cookieHeader['Set-Cookie'] as HeaderSpec,
  Location: {
    type: 'string',
    format: 'uri',
    description: '`amazon_callback_uri` with `redirect_uri` (`{publicUrl}/oauth/callback`), `amazon_state`, a fresh '
      + 'signed `state`, and `version=beta` when Amazon sent it.',
  },
}

const forbiddenCallback = pageReply(
  '`amazon_callback_uri` is not a Seller Central or Vendor Central origin (`callback_forbidden`), or Amazon\'s '
    + 'parameters are missing: the browser is sent nowhere.',
  refused('This sign-in did not come from Amazon Seller Central or Vendor Central, so it is not continued. Start '
    + 'again from Amazon.'),
)

export const sellerLoginSchema = onboardingRoute({
  operationId: 'sellerLogin',
  summary: 'The app\'s OAuth Login URI: where Seller Central sends a seller who starts from Amazon.',
  description: 'Register `<onboarding.publicUrl>/oauth/login` as the app\'s OAuth Login URI. The Appstore\'s '
    + '"Authorize now" and "Re-authorize" on Manage Your Apps load it. A seller with a credential in the region of '
    + '`amazon_callback_uri` (declared for it, or connected to it) goes straight back to Amazon to re-authorize it; a '
    + 'new seller is given a credential when `onboarding.selfService` is configured, otherwise a page asks for an '
    + 'admin\'s one-time link (`POST`). Audited as `onboarding.started` with `flow`.',
  querystring: LoginQuery,
  response: {
    303: redirectReply('Back to Amazon (`amazon_callback_uri`) with a fresh state.', toAmazonHeaders),
    400: forbiddenCallback,
    403: pageReply(
      'A new seller and no self-service (`seller_unknown`): a page whose form asks for an admin\'s link (or, in '
        + 'sidecar mode, a proxied request).',
      refused('Selling account A3NEWSELLER is not connected to this app yet. Enter the onboarding link an '
        + 'administrator gave you to continue.'),
    ),
    429: tooMany, 500: bug,
  },
})

export const presentLinkSchema = onboardingRoute({
  operationId: 'sellerLoginWithLink',
  summary: 'A new seller continues from the Login URI with an admin\'s one-time link.',
  description: 'The form of the `seller_unknown` page posts here, with Amazon\'s query unchanged. The link is used up; '
    + 'its credential must be an SP-API one of the region of `amazon_callback_uri` (`region_mismatch` otherwise) and, '
    + 'if the link names an account, this seller\'s.',
  querystring: LoginQuery,
  body: PresentedLink,
  response: {
    303: redirectReply('Back to Amazon (`amazon_callback_uri`) with a fresh state.', toAmazonHeaders),
    400: forbiddenCallback,
    403: pageReply(
      'The link is for another region or API (`region_mismatch`) or another account (`account_mismatch`).',
      refused('This link is for the eu region, but this authorization came from the na region&#39;s Seller Central. '
        + 'Nothing was stored; ask for a link for this region.'),
    ),
    410: unknownLink, 429: tooMany, 500: bug,
    503: pageReply('The shared store (Redis) cannot be reached.', refused('Onboarding is unavailable right now (its '
      + 'shared store cannot be reached). Nothing was stored; try again later.')),
  },
})
