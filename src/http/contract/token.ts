import { Type, type Static } from 'typebox'
import { profileIdPattern } from '../../ads/profiles.js'
import { apis, regions } from '../../config/schema.js'
import {
  bearerAuth,
  CredentialName,
  credentialFailed,
  internalError,
  rateLimited,
  RequestIdHeaders,
  sidecarRefused,
  unauthenticated,
  unknownCredential,
  upstreamUnavailable,
} from './common.js'
import { noStoreHeader } from './headers.js'
import { errorReplies, jsonReply, type ErrorSpec } from './replies.js'

/** LWA tokens live 3600 s: a min_ttl above this is refused by validation, closer to the lifetime by the cache. */
export const maxMinTtlSeconds = 3000

export const TokenQuery = Type.Object({
  credential: CredentialName,
  min_ttl: Type.Optional(Type.Integer({
    minimum: 0, maximum: maxMinTtlSeconds, examples: [300],
    description: 'Minimum seconds of life the returned token must have left. If the cached token has less, the broker '
      + 'gets a new one from LWA first; it never returns a shorter-lived token. A `min_ttl` that the tokens LWA grants '
      + 'this credential cannot meet is `400 invalid_request` naming their lifetime (without an LWA call per request). '
      + 'Default 60 (config `tokens.defaultMinTtlSeconds`).',
  })),
  profile: Type.Optional(Type.String({
    pattern: profileIdPattern, examples: ['3316636565473405123'],
    description: 'Ads credentials only: the advertiser profile the token is for, sent back as '
      + '`Amazon-Advertising-API-Scope`. It must be one of the profiles the credential\'s refresh token reaches '
      + '(`GET /v2/profiles`, read after onboarding, every `ads.profilesRefreshSeconds`, and when a caller names one '
      + 'not yet known, at most once per `ads.profilesMinRefreshSeconds`) and one the caller\'s policy rule allows '
      + '(`profiles`). Every profile shares the credential\'s one access token: one LWA refresh serves them all. '
      + 'Without it, the credential\'s fixed `profileId` (if any) is the scope.',
  })),
}, { additionalProperties: false })
export type TokenQuery = Static<typeof TokenQuery>

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'The LWA access token.' }),
  token_type: Type.String({ description: 'As LWA says it, usually `bearer`.' }),
  expires_in: Type.Integer({ description: 'Seconds the token has left (at least `min_ttl`).' }),
  expires_at: Type.String({ format: 'date-time', description: 'When it expires.' }),
  credential: Type.String(),
  api: Type.Enum(apis),
  region: Type.Enum(regions),
  headers: Type.Record(Type.String(), Type.String(), {
    description: 'Exactly the headers the Amazon API wants with this token (Ads: `Authorization`, '
      + '`Amazon-Advertising-API-ClientId`, `Amazon-Advertising-API-Scope`; SP-API: `x-amz-access-token`; Appstore: '
      + '`Authorization`).',
  }),
}, { additionalProperties: false, title: 'TokenResponse' })
export type TokenResponse = Static<typeof TokenResponse>

const example = (credential: string, api: string, region: string, token: string, headers: Record<string, string>) => ({
  value: {
    access_token: token,
    token_type: 'bearer',
    expires_in: 3540,
    expires_at: '2026-01-01T12:59:00.000Z',
    credential,
    api,
    region,
    headers,
  },
})

const unknownCredentialOrProfile: ErrorSpec = {
  codes: ['unknown_credential', 'profile_unknown'],
  description: `${unknownCredential.description} \`profile_unknown\`: \`profile\` is not one of the profiles the `
    + 'credential\'s refresh token reaches, as last read from the Ads API (read again at most once per '
    + '`ads.profilesMinRefreshSeconds` for an unknown profile).',
  examples: {
    ...unknownCredential.examples,
    profile_unknown: {
      value: {
        error: 'profile_unknown',
        message: 'profile 1234567890 is not one of credential ads-us\'s profiles',
        request_id: '5b0e3f2c-8a41-4c6e-9d7b-2f1a0c3e5d7b',
      },
    },
  },
}

export const getTokenSchema = {
  operationId: 'getToken',
  tags: ['tokens'],
  summary: 'Get an LWA access token for a credential.',
  description: 'Authenticates the caller\'s JWT, checks the policy allows the caller to use `credential`, and returns '
    + 'a cached LWA access token with at least `min_ttl` seconds of life left, obtaining a fresh one from LWA when '
    + 'needed (one LWA call per credential at a time, however many callers wait, and across replicas when they share '
    + 'Redis). Tokens are refreshed in the background before they expire, so callers rarely wait on LWA.\n\nThe checks '
    + 'run in this order: in sidecar mode, a direct loopback request (403); query (400); JWT and rate limit (401, '
    + '429); policy, with the `profile` asked for (403); credential exists (404); with `profile`, the credential is an '
    + 'Ads one (400) and the profile is one of its own (404) — so a caller learns whether a credential or profile '
    + 'exists only for what the policy lets it use. Any other query parameter is refused (400 '
    + 'invalid_request).\n\nCopy the returned '
    + '`headers` onto the request to the Amazon API as they are.',
  security: bearerAuth,
  querystring: TokenQuery,
  headers: RequestIdHeaders,
  response: {
    200: jsonReply(TokenResponse, 'An access token with at least `min_ttl` seconds left. Never cache this response in '
      + 'a shared cache (`Cache-Control: no-store`); ask the broker again instead, it answers from its own cache.', {
      headers: noStoreHeader,
      examples: {
        ads: {
          summary: 'Amazon Ads API credential with a profile',
          ...example('ads-us', 'ads', 'na', 'Atza|IwEBIExampleAdsAccessToken', {
            Authorization: 'Bearer Atza|IwEBIExampleAdsAccessToken',
            'Amazon-Advertising-API-ClientId': 'amzn1.application-oa2-client.0123456789abcdef',
            'Amazon-Advertising-API-Scope': '2502259796',
          }),
        },
        'sp-api': {
          summary: 'Selling Partner API credential',
          ...example('sp-acme-eu', 'sp-api', 'eu', 'Atza|IwEBIExampleSpApiAccessToken', {
            'x-amz-access-token': 'Atza|IwEBIExampleSpApiAccessToken',
          }),
        },
        appstore: {
          summary: 'Appstore API credential (client_credentials grant)',
          ...example('appstore-main', 'appstore', 'na', 'Atc|MQEBIExampleAppstoreAccessToken', {
            Authorization: 'Bearer Atc|MQEBIExampleAppstoreAccessToken',
          }),
        },
      },
    }),
    ...errorReplies([
      {
        codes: ['invalid_request'],
        description: '`invalid_request`: the query is malformed — `credential` missing or not a valid name, '
          + '`min_ttl` not an integer in 0..3000 or one the credential\'s tokens cannot meet, `profile` not digits or '
          + 'given for a credential that is not an Ads one, a query parameter the route does not know. The message '
          + 'names the offending field.',
        examples: {
          missing_credential: {
            value: {
              error: 'invalid_request',
              message: 'querystring must have required property \'credential\'',
              request_id: '60d0121e-690d-48ab-9144-e929b98db6e4',
            },
          },
          min_ttl_beyond_lifetime: {
            value: {
              error: 'invalid_request',
              message: 'min_ttl 2500 cannot be met: LWA grants credential ads-us tokens of 2000 s; ask for at most '
                + '1995',
              request_id: 'c43cb7cc-a4e6-417b-9780-38cdcea32fc5',
            },
          },
        },
      },
      unauthenticated,
      {
        codes: ['forbidden'],
        description: '`forbidden`: the JWT is valid but no policy rule lets this caller (issuer, subject, claims) use '
          + 'this credential, or for this Ads profile (a rule\'s `profiles`); returned whether or not the credential '
          + 'or profile exists. In sidecar mode, also a proxied or non-loopback request.',
        examples: {
          forbidden: {
            value: {
              error: 'forbidden',
              message: 'caller system:serviceaccount:other:x may not use credential ads-us',
              request_id: 'ec1391ea-217b-48bb-ae48-71f1f469462b',
            },
          },
        },
      },
      unknownCredentialOrProfile, rateLimited, internalError, credentialFailed,
      {
        ...upstreamUnavailable,
        description: `${upstreamUnavailable.description} With \`profile\`: also a profile not yet known while the Ads `
          + 'API cannot be asked for the list (profiles already known keep being served).',
      },
    ]),
  },
}

/** Shared by routes that only refuse what every route may: proxied requests in sidecar mode, and bugs. */
export const alwaysPossible = errorReplies([sidecarRefused, internalError])
