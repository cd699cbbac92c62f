import { Type, type Static } from 'typebox'
import { regions } from '../../config/schema.js'
import { maxRestrictedResources, restrictedMethods } from '../../rdt/index.js'
import {
  bearerAuth, CredentialName, credentialFailed, internalError, RequestIdHeaders, unauthenticated, unknownCredential,
  upstreamUnavailable,
} from './common.js'
import { noStoreHeader } from './headers.js'
import { errorReplies, jsonReply, type Example } from './replies.js'

/** An RDT lives an hour (SPAPI.md): a min_ttl above this could never be met. */
const maxRdtMinTtlSeconds = 1800

const method = Type.Enum(restrictedMethods)
const path = Type.String({
    pattern: '^/[^\\s?#]*$', maxLength: 1024,
    description: 'The SP-API path of the restricted operation: concrete (`/orders/v0/orders/123-1234567-1234567/'
      + 'address`) or generic (`/orders/v0/orders` covers getOrders).',
})
const dataElement = '[A-Za-z]{1,64}'
const maxDataElements = 10
const targetApplication = Type.Optional(Type.String({
  pattern: '^[A-Za-z0-9._-]{1,128}$', description: 'The application the RDT is delegated to (Amazon\'s field).',
}))
const minTtl = Type.Optional(Type.Integer({
  minimum: 0, maximum: maxRdtMinTtlSeconds,
  description: 'Minimum seconds the RDT must have left; default `spApi.restrictedDataTokens.defaultMinTtlSeconds`.',
}))

const RestrictedResource = Type.Object({
  method,
  path,
  dataElements: Type.Optional(Type.Array(Type.String({ pattern: `^${dataElement}$` }), {
    minItems: 1, maxItems: maxDataElements, description: 'The PII the call needs, e.g. `buyerInfo`, `shippingAddress`.',
  })),
}, { additionalProperties: false })

export const RdtRequest = Type.Object({
  credential: CredentialName,
  restrictedResources: Type.Array(RestrictedResource, { minItems: 1, maxItems: maxRestrictedResources }),
  targetApplication,
  min_ttl: minTtl,
}, { additionalProperties: false, title: 'RestrictedDataTokenRequest' })
export type RdtRequest = Static<typeof RdtRequest>

/** The GET form: one resource, in the query. */
export const RdtQuery = Type.Object({
  credential: CredentialName,
  method,
  path,
  dataElements: Type.Optional(Type.String({
    pattern: `^${dataElement}(,${dataElement}){0,${maxDataElements - 1}}$`,
    description: 'The PII the call needs, comma-separated, e.g. `buyerInfo,shippingAddress`.',
  })),
  targetApplication,
  min_ttl: minTtl,
}, { additionalProperties: false })
export type RdtQuery = Static<typeof RdtQuery>

export const RdtResponse = Type.Object({
  restricted_data_token: Type.String({
    description: 'The RDT: send it as `x-amz-access-token` of the restricted call.',
  }),
  expires_in: Type.Integer({ description: 'Seconds it has left (at least `min_ttl`).' }),
  expires_at: Type.String({ format: 'date-time' }),
  credential: Type.String(),
  region: Type.Enum(regions),
  headers: Type.Object({ 'x-amz-access-token': Type.String() }, { additionalProperties: false }),
}, { additionalProperties: false, title: 'RestrictedDataTokenResponse' })
export type RdtResponse = Static<typeof RdtResponse>

const error = (code: string, message: string): Example => ({
  value: { error: code, message, request_id: '4d2f6b8a-0c1e-4a3b-9d5f-7b9d1f3a5c7e' },
})

const rdtDescription = 'The broker gets the seller\'s access token from its own cache and calls the Tokens API\'s '
  + '`createRestrictedDataToken` on the credential\'s regional SP-API host (`spApi.endpoints`). The RDT is '
  + 'cached per credential and resource set (the same resources in any order, data elements in any order, '
  + 'are one set) for its lifetime less `min_ttl`: any number of callers, on any replica sharing Redis, '
  + 'asking for one set cost one Tokens API call. The broker keeps Amazon\'s pace for '
  + '`createRestrictedDataToken` per seller and app (1/s, burst 10, or what `x-amzn-RateLimit-Limit` '
  + 'says, whichever is slower): a caller beyond it gets `429 rate_limited` with `Retry-After`, never '
  + 'Amazon\'s 429. The caller\'s policy rule must allow restricted data (`restrictedData`, optionally per '
  + 'path); every RDT handed out is audited with its paths.\n\nThe checks run in this order: body (400); '
  + 'JWT and rate limit (401, 429); policy for every path (403 `forbidden`); credential exists (404) and '
  + 'is a seller\'s SP-API one (400); the seller\'s access token (502, 503); the pace (429); the Tokens API '
  + '(400 `resource_invalid`, 403 `resource_forbidden`, 503).'

/** Both forms answer alike. */
const rdtResponses = {
  200: jsonReply(RdtResponse, 'An RDT with at least `min_ttl` seconds left (`Cache-Control: no-store`).', {
    headers: noStoreHeader,
    examples: {
      address: {
        value: {
          restricted_data_token: 'Atz.sprdt|IwEBIExampleRestrictedDataToken', expires_in: 3540,
          expires_at: '2026-01-01T12:59:00.000Z', credential: 'sp-acme-eu', region: 'eu',
          headers: { 'x-amz-access-token': 'Atz.sprdt|IwEBIExampleRestrictedDataToken' },
        },
      },
    },
  }),
  ...errorReplies([
    {
      codes: ['invalid_request', 'resource_invalid'],
      description: '`invalid_request`: the body is malformed (the message names the field), or the credential is not '
        + 'a seller\'s SP-API one. `resource_invalid`: the Tokens API refused the resources (not a restricted '
        + 'operation, data elements it does not take); the message names them, with Amazon\'s words.',
      examples: {
        resource_invalid: error('resource_invalid', 'the Tokens API refused the restricted resources GET /orders/v0/'
          + 'orders (Amazon: Invalid Input Resource GET /orders/v0/orders needs dataElements.)'),
      },
    },
    unauthenticated,
    {
      codes: ['forbidden', 'resource_forbidden'],
      description: '`forbidden`: no policy rule lets this caller have restricted data of this credential for every '
        + 'path asked (whether or not the credential exists). `resource_forbidden`: Amazon says the app\'s roles do '
        + 'not reach these resources; the message names them.',
      examples: {
        forbidden: error('forbidden', 'caller system:serviceaccount:shop:labels may not have restricted data of '
          + 'credential sp-acme-eu'),
      },
    },
    unknownCredential,
    {
      codes: ['rate_limited'],
      description: '`rate_limited`: this caller sent too many requests, or this seller\'s RDTs are asked for faster '
        + 'than the Tokens API allows (a set already cached is still served); wait `Retry-After` seconds.',
    },
    internalError, credentialFailed,
    {
      ...upstreamUnavailable,
      description: `${upstreamUnavailable.description} Also: the Tokens API failed, timed out or did not accept the `
        + 'seller\'s access token.',
    },
  ]),
}

export const rdtSchema = {
  operationId: 'createRestrictedDataToken',
  tags: ['tokens'],
  summary: 'Get a Restricted Data Token for a seller\'s restricted SP-API operations (buyers\' personal data).',
  description: rdtDescription,
  security: bearerAuth,
  headers: RequestIdHeaders,
  body: RdtRequest,
  response: rdtResponses,
}

export const rdtGetSchema = {
  operationId: 'getRestrictedDataToken',
  tags: ['tokens'],
  summary: 'Get a Restricted Data Token for one restricted resource, named in the query.',
  description: 'As `POST /restricted-data-token` with one resource (`method`, `path`, `dataElements` comma-separated): '
    + 'the same cache, pace, policy, audit and answers. No body to parse, so a cached RDT costs about what a cached '
    + 'token costs `GET /token`.',
  security: bearerAuth,
  headers: RequestIdHeaders,
  querystring: RdtQuery,
  response: rdtResponses,
}
