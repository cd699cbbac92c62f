import { Type, type Static } from 'typebox'
import { internalError, rateLimited, unauthenticated, unknownCredential } from './common.js'
import {
  adminForbidden, adminInvalid, adminRoute, checks, CredentialParams, CredentialStatusSchema,
} from './admin.js'
import { errorReplies, jsonReply } from './replies.js'

export const AdsProfileSchema = Type.Object({
  id: Type.String({ description: 'The profile id, digit for digit (a 64-bit integer): the value of '
    + '`GET /token?profile=`.' }),
  country_code: Type.String({ examples: ['US'] }),
  type: Type.String({ description: 'The account\'s type as the Ads API says it: `seller`, `vendor` or `agency`.' }),
  account_id: Type.String({ description: 'The advertising account behind the profile (`accountInfo.id`).' }),
  account_name: Type.String(),
}, { additionalProperties: false, title: 'AdsProfile' })

/** One credential's status with what is too large for the listing of every credential: its Ads profiles. */
export const CredentialDetailSchema = Type.Object({
  ...CredentialStatusSchema.properties,
  profiles: Type.Union([Type.Array(AdsProfileSchema), Type.Null()], {
    description: 'Ads credentials: the profiles the refresh token reaches, as last read from `GET /v2/profiles`. '
      + 'null when not read yet (the broker reads them after onboarding and when a caller first asks for a '
      + '`profile`) and for other APIs.',
  }),
  profiles_read_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the profile list was read; null with `profiles`.',
  }),
}, { additionalProperties: false, title: 'CredentialDetail' })
export type CredentialDetailBody = Static<typeof CredentialDetailSchema>

export const getCredentialSchema = adminRoute({
  operationId: 'getCredential',
  summary: 'One credential\'s status, with its Ads profiles.',
  description: 'What `GET /admin/credentials` says of one credential, and for an Ads credential the profiles its '
    + 'refresh token reaches (the ones `GET /token?profile=` accepts). Never a secret, a token, a client id or a '
    + 'secret id.\n\n'
    + checks('; credential exists (404: only admins learn whether a name is configured)')
    + ' Audited as `admin.credentials.get` with the credential name.',
  params: CredentialParams,
  response: {
    200: jsonReply(CredentialDetailSchema, 'The credential\'s status and profiles.', {
      examples: {
        ads: {
          value: {
            credential: 'ads-us', origin: 'config', api: 'ads', region: 'na', labels: {}, health: 'healthy',
            tag_problem: null, token_expires_at: '2026-01-01T12:59:00.000Z',
            last_refresh_at: '2026-01-01T12:00:00.000Z', last_used_at: '2026-01-01T12:03:00.000Z',
            secret_versions: { app: 'v1', grant: null }, secret_stage: null, last_error: null,
            profiles: [{
              id: '3316636565473405123', country_code: 'US', type: 'seller', account_id: 'A2ADVERTISER01',
              account_name: 'Acme',
            }],
            profiles_read_at: '2026-01-01T12:00:01.000Z',
          },
        },
      },
    }),
    ...errorReplies([adminInvalid, unauthenticated, adminForbidden, unknownCredential, rateLimited, internalError]),
  },
})
