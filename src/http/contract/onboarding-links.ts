import { Type, type Static } from 'typebox'
import { credentialNamePattern } from '../../config/schema.js'
import { labelKeyPattern, labelValuePattern } from '../../config/schema/credentials.js'
import { nameTemplatePattern } from '../../config/schema/onboarding.js'
import { internalError, rateLimited, unauthenticated } from './common.js'
import { adminForbidden, adminInvalid, adminRoute, checks } from './admin.js'
import { errorReplies, jsonReply } from './replies.js'

const NewCredentialRequest = Type.Object({
  name: Type.String({
    pattern: nameTemplatePattern,
    description: 'The new credential\'s name, or a template filled in once the account is known: `{account}` (the '
      + 'selling partner id, or the advertising accounts), `{region}`, `{api}`; e.g. `sp-{account}-{region}`.',
  }),
  api: Type.Enum(['ads', 'sp-api']),
  region: Type.Enum(['na', 'eu', 'fe']),
  app: Type.String({ minLength: 1, description: 'The secret holding the app\'s client_id and client_secret.' }),
  application_id: Type.Optional(Type.String({
    minLength: 1, description: 'SP-API (required there): the application the seller authorises.',
  })),
  draft: Type.Optional(Type.Boolean({ description: 'SP-API: the app is a draft (the consent carries version=beta).' })),
  vendor: Type.Optional(Type.Boolean({
    description: 'SP-API: a vendor app: the consent page is Vendor Central\'s '
      + '(`onboarding.consentUrls.sp-api-vendor`).',
  })),
  labels: Type.Optional(Type.Record(Type.String({ pattern: labelKeyPattern }), Type.String({
    pattern: labelValuePattern,
  }), { description: 'The new credential\'s labels (its `lwa-broker:label:*` tags).' })),
}, { additionalProperties: false, title: 'NewCredentialRequest' })

export const OnboardingRequest = Type.Object({
  credential: Type.Optional(Type.String({
    pattern: credentialNamePattern,
    description: 'The credential to connect an Amazon account to. Exactly one of `credential` and `create`.',
  })),
  create: Type.Optional(NewCredentialRequest),
  expected_account: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9._,-]{1,512}$',
    description: 'The Amazon account the link may connect (SP-API: the selling partner id; Ads: the advertising '
      + 'account ids behind the profiles, sorted, comma-separated); any other is refused.',
  })),
  replace: Type.Optional(Type.Boolean({
    description: 'The link may connect another account than the one the credential is connected to now.',
  })),
}, { additionalProperties: false, title: 'OnboardingRequest' })
export type OnboardingRequest = Static<typeof OnboardingRequest>
export const OnboardingLink = Type.Object({
  url: Type.String({
    description: '`<onboarding.publicUrl>/onboarding/<link>`: a one-time capability; give it only to the account '
      + 'owner.',
  }),
  expires_at: Type.String({ format: 'date-time' }),
}, { additionalProperties: false, title: 'OnboardingLink' })

export const createOnboardingLinkSchema = adminRoute({
  operationId: 'createOnboardingLink',
  tags: ['admin', 'onboarding'],
  summary: 'Get a one-time onboarding link for a credential.',
  description: 'Served only when `onboarding` is configured. Makes a one-time link for the person who owns the Amazon '
    + 'account behind `credential`. They open it (`GET /onboarding/{link}`), continue to Amazon\'s consent page, and '
    + 'on "Allow" Amazon sends them back to `GET /oauth/callback`, where the broker exchanges the code, learns the '
    + 'account, and stores the refresh token with it as a new version of the credential\'s grant secret. Nobody '
    + 'handles the refresh token.\n\nThe link works once and expires after `onboarding.linkTtlSeconds`. With a '
    + 'shared Redis (`cache.backend: redis`) it lives there, so any replica serves each step; without, it lives in '
    + 'this replica\'s memory and the consent round trip must reach the replica that made it. A credential connected '
    + 'to an account stays with it unless `replace` is true; with `expected_account`, any other account is '
    + 'refused.\n\nOnly `refresh_token` credentials of the Ads API and the SP-API can be onboarded, an SP-API one with '
    + '`onboarding.applicationId`; any other name is `400 invalid_request` (only admins get this far).\n\n'
    + 'With `create` instead of `credential`, the consent creates the credential: on a successful exchange the broker '
    + 'creates the secret `<onboarding.newCredentials.secretNamePrefix><name>` (`CreateSecret`, KMS key '
    + '`onboarding.newCredentials.kmsKeyId`) with the refresh token, its account and the `lwa-broker:` tags that '
    + 'declare it, then lists the catalogue (and, with Redis, tells the other replicas to), so every replica serves '
    + 'it within one catalogue interval. If this account already has a credential (the same name, or SP-API the same '
    + 'seller), that one is re-authorized instead. Needs `catalogue` (400 otherwise); an SP-API `create` needs '
    + '`application_id`.\n\n'
    + checks('; exactly one of `credential` and `create`, and the credential can be onboarded (400)')
    + ' Audited as `admin.onboarding.link` with the credential name.',
  body: OnboardingRequest,
  response: {
    200: jsonReply(OnboardingLink, 'The link, and when it expires.', {
      examples: {
        link: {
          value: {
            url: 'https://lwa-broker.example.com/onboarding/KvOR34TVyyrerKvg0_FgyIyIAOX0Xibk',
            expires_at: '2026-01-01T12:10:00.000Z',
          },
        },
      },
    }),
    ...errorReplies([
      { ...adminInvalid, description: `${adminInvalid.description} Also a credential that cannot be onboarded.` },
      unauthenticated,
      adminForbidden,
      rateLimited,
      internalError,
    ]),
  },
})
