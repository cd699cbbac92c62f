import { Type, type Static } from 'typebox'
import type { ErrorCode } from '../../errors.js'
import { bearerAuth, RequestIdHeaders } from './common.js'
import { noStoreHeader, retryAfterHeader } from './headers.js'
import { jsonReply, type Example } from './replies.js'

/** The LWA token request as SDKs send it (form or JSON); `refresh_token` names a broker credential. */
export const CompatRequest = Type.Object({
  grant_type: Type.String({ description: 'Only `refresh_token` is served.' }),
  refresh_token: Type.Optional(Type.String({
    description: 'The **name** of a broker credential, not a real refresh token.',
  })),
  client_id: Type.Optional(Type.String({ description: 'Accepted and ignored.' })),
  client_secret: Type.Optional(Type.String({
    description: 'The caller\'s JWT (an `Authorization: Bearer` header wins when both are sent).',
  })),
  scope: Type.Optional(Type.String({ description: 'Accepted and ignored.' })),
}, { title: 'LwaTokenRequest' })
export type CompatRequest = Static<typeof CompatRequest>

export const CompatToken = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String({ description: 'The credential name, echoed: never a real refresh token.' }),
  token_type: Type.String(),
  expires_in: Type.Integer(),
}, { additionalProperties: false, title: 'LwaTokenResponse' })

/** Login with Amazon's own error shape: its codes, not the broker's. */
export const lwaErrorSchema = (codes: readonly string[]) => Type.Object({
  error: Type.Enum(codes),
  error_description: Type.String(),
}, { additionalProperties: false })

/**
 * Our errors in LWA's words (LWA.md). A caller that may not use a credential learns the
 * same as one naming a credential that does not exist: `invalid_grant`.
 */
export const lwaErrors: Record<ErrorCode, { status: number; error: string; description: string }> = {
  invalid_request: {
    status: 400,
    error: 'invalid_request',
    description: 'The request is missing a required parameter or is otherwise malformed',
  },
  unauthenticated: { status: 401, error: 'invalid_client', description: 'Client authentication failed' },
  forbidden: {
    status: 400,
    error: 'invalid_grant',
    description: 'The request has an invalid grant parameter : refresh_token',
  },
  unknown_credential: {
    status: 400,
    error: 'invalid_grant',
    description: 'The request has an invalid grant parameter : refresh_token',
  },
  credential_rejected: {
    status: 400,
    error: 'invalid_grant',
    description: 'The credential was refused by Login with Amazon',
  },
  not_found: { status: 404, error: 'invalid_request', description: 'Not found' },
  // This route names no profile; were it ever raised, it is a grant the caller cannot use.
  profile_unknown: {
    status: 400,
    error: 'invalid_grant',
    description: 'The request has an invalid grant parameter : refresh_token',
  },
  // Restricted Data Tokens are not served on this route; were one ever raised, the request was malformed.
  resource_invalid: { status: 400, error: 'invalid_request', description: 'The request is malformed' },
  resource_forbidden: {
    status: 400,
    error: 'invalid_grant',
    description: 'The request has an invalid grant parameter : refresh_token',
  },
  request_timeout: { status: 408, error: 'invalid_request', description: 'The request did not arrive in time' },
  rate_limited: { status: 429, error: 'temporarily_unavailable', description: 'Too many requests' },
  upstream_unavailable: {
    status: 503,
    error: 'temporarily_unavailable',
    description: 'Login with Amazon is unavailable; retry later',
  },
  credential_misconfigured: {
    status: 500,
    error: 'server_error',
    description: 'The credential is misconfigured in the broker',
  },
  internal_error: { status: 500, error: 'server_error', description: 'Internal error' },
}

export const unsupportedGrant = {
  error: 'unsupported_grant_type',
  description: 'The authorization grant type is not supported: the broker serves refresh_token',
}

const lwaReply = (codes: readonly string[], description: string, examples: Record<string, Example>, retry = false) =>
  jsonReply(lwaErrorSchema(codes), description, {
    headers: { ...(retry ? retryAfterHeader : {}), ...noStoreHeader },
    examples,
  })
const answer = (error: string, description: string): Example => ({ value: { error, error_description: description } })

export const lwaTokenSchema = {
  operationId: 'lwaCompatibleToken',
  tags: ['lwa-compat', 'tokens'],
  summary: 'Get an access token the way Login with Amazon\'s token endpoint hands one out.',
  description: 'Login with Amazon\'s own token endpoint in shape, so an LWA client or SDK uses the broker by changing, '
    + 'or routing, that one URL. Send the broker credential\'s name as `refresh_token`, and the caller\'s JWT as '
    + '`client_secret` (what LWA clients send) or as an `Authorization: Bearer` header (which wins; any other '
    + 'Authorization scheme, such as an SDK\'s Basic client authentication, does not hide the body\'s JWT). The body '
    + 'is a form (at most 16 KiB) or JSON.\n\nThe answer is LWA\'s: the credential\'s cached access token with at '
    + 'least `tokens.defaultMinTtlSeconds` left, and `refresh_token` echoing the credential name. Same policy, cache, '
    + 'audit, metrics and rate-limit budget as `GET /token`. Errors are LWA\'s `{error, error_description}` with '
    + 'LWA\'s statuses; the broker\'s own code is in its log and audit line, under the `X-Request-Id`.\n\nThe checks '
    + 'run in this order: in sidecar mode, a request that is not a direct loopback one (400 `invalid_grant`); body '
    + '(400); rate limit (429); `grant_type` (400 `unsupported_grant_type`) and `refresh_token` (400 '
    + '`invalid_request`); JWT (401); policy and existence (400 `invalid_grant`: the same answer, so a caller learns '
    + 'nothing about names it may not use); the token (400, 500, 503).',
  security: [...bearerAuth, {}],
  headers: RequestIdHeaders,
  consumes: ['application/x-www-form-urlencoded', 'application/json'],
  body: CompatRequest,
  response: {
    200: jsonReply(
      CompatToken,
      'LWA\'s token answer with the broker\'s cached access token. Do not cache it in a shared cache.',
      {
        headers: noStoreHeader,
        examples: {
          token: {
            value: {
              access_token: 'Atza|IwEBIExampleSpApiAccessToken',
              refresh_token: 'sp-acme-eu',
              token_type: 'bearer',
              expires_in: 3540,
            },
          },
        },
      },
    ),
    400: lwaReply(['invalid_request', 'unsupported_grant_type', 'invalid_grant'], '`invalid_request` (a malformed '
      + 'body, or `refresh_token` missing or not a credential name), `unsupported_grant_type` (not `refresh_token`), '
      + 'or `invalid_grant` (the caller may not use the credential, no credential has that name, or LWA refused the '
      + 'credential\'s stored secret or grant; in sidecar mode also a proxied request).', {
      invalid_request: answer('invalid_request', lwaErrors.invalid_request.description),
      invalid_grant: answer('invalid_grant', lwaErrors.forbidden.description),
      unsupported_grant_type: answer(unsupportedGrant.error, unsupportedGrant.description),
    }),
    401: lwaReply(['invalid_client'], '`invalid_client`: no JWT, or the JWT is not acceptable. No '
      + '`WWW-Authenticate`: LWA sends none.', {
      invalid_client: answer('invalid_client', lwaErrors.unauthenticated.description),
    }),
    429: lwaReply(['temporarily_unavailable'], '`temporarily_unavailable`: this caller sent too many requests; wait '
      + '`Retry-After` seconds.', {
      rate_limited: answer('temporarily_unavailable', lwaErrors.rate_limited.description),
    }, true),
    500: lwaReply(['server_error'], '`server_error`: the credential is misconfigured in the broker (its secret lacks a '
      + 'field or does not exist: retrying will not help until an operator fixes it), or a bug in the broker.', {
      misconfigured: answer('server_error', lwaErrors.credential_misconfigured.description),
    }),
    503: lwaReply(['temporarily_unavailable'], '`temporarily_unavailable`: no valid cached token, and LWA, the secret '
      + 'store or the caller\'s JWT keys cannot be reached right now. Retry after `Retry-After` seconds.', {
      unavailable: answer('temporarily_unavailable', lwaErrors.upstream_unavailable.description),
    }, true),
  },
}
