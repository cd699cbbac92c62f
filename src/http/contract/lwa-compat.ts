import { Type, type Static } from 'typebox'
import type { ErrorCode } from '../../errors.js'
import { bearerAuth, RequestIdHeaders } from './common.js'
import { noStoreHeader, retryAfterHeader } from './headers.js'
import { jsonReply, type Example } from './replies.js'
import {
  accessTokenType, clientCredentialsGrant, ExchangedToken, GrantlessToken, idTokenType, invalidScope, invalidTarget,
  jwtTokenType, refreshTokenGrant, tokenExchangeGrant, unsupportedGrant, unsupportedTokenType,
} from './lwa-compat-grants.js'
import { maxMinTtlSeconds } from './token.js'

/**
 * The token request of every grant served (form or JSON), one object: `grant_type` says which
 * fields count. Fields a grant does not use are accepted and ignored, as LWA clients send extras.
 */
export const CompatRequest = Type.Object({
  grant_type: Type.String({
    description: `\`${refreshTokenGrant}\`, \`${clientCredentialsGrant}\` (grantless) or \`${tokenExchangeGrant}\` `
      + '(RFC 8693).',
  }),
  refresh_token: Type.Optional(Type.String({
    description: '`refresh_token` grant: the **name** of a broker credential, not a real refresh token.',
  })),
  client_id: Type.Optional(Type.String({
    description: '`client_credentials`: when several credentials the caller may use have the scope, the one whose '
      + 'app has this client id. Otherwise ignored.',
  })),
  client_secret: Type.Optional(Type.String({
    description: '`refresh_token` and `client_credentials`: the caller\'s JWT (an `Authorization: Bearer` header wins '
      + 'when both are sent).',
  })),
  scope: Type.Optional(Type.String({
    maxLength: 256,
    description: '`client_credentials`: the grantless scope, e.g. `sellingpartnerapi::notifications`. Otherwise '
      + 'ignored.',
  })),
  subject_token: Type.Optional(Type.String({
    description: 'Token exchange: the caller\'s JWT. For this grant it is the only place the JWT is taken from.',
  })),
  subject_token_type: Type.Optional(Type.String({
    description: `Token exchange: \`${jwtTokenType}\` or \`${idTokenType}\` (both verified as the caller's JWT).`,
  })),
  resource: Type.Optional(Type.String({
    description: 'Token exchange: the name of the broker credential wanted (one value). `audience` may say it '
      + 'instead; if both are sent they must be equal.',
  })),
  audience: Type.Optional(Type.String({ description: 'Token exchange: as `resource`.' })),
  requested_token_type: Type.Optional(Type.String({
    description: `Token exchange: only \`${accessTokenType}\` (the default).`,
  })),
  actor_token: Type.Optional(Type.String({
    description: 'Token exchange: not served (no delegation): a request with one is `invalid_request`, never '
      + 'answered as if the actor were ignored.',
  })),
  min_ttl: Type.Optional(Type.Integer({
    minimum: 0, maximum: maxMinTtlSeconds,
    description: 'Extension, any grant: as `GET /token`\'s `min_ttl`. Default `tokens.defaultMinTtlSeconds`.',
  })),
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

const lwaReply = (codes: readonly string[], description: string, examples: Record<string, Example>, retry = false) =>
  jsonReply(lwaErrorSchema(codes), description, {
    headers: { ...(retry ? retryAfterHeader : {}), ...noStoreHeader },
    examples,
  })
const answer = (error: string, description: string): Example => ({ value: { error, error_description: description } })

const exampleToken = 'Atza|IwEBIExampleSpApiAccessToken'
const tokenExamples: Record<string, Example> = {
  refresh_token: {
    summary: 'refresh_token grant',
    value: { access_token: exampleToken, refresh_token: 'sp-acme-eu', token_type: 'bearer', expires_in: 3540 },
  },
  client_credentials: {
    summary: 'client_credentials (grantless)',
    value: { access_token: 'Atc|IwEBIExampleGrantless', scope: 'sellingpartnerapi::notifications',
      token_type: 'bearer', expires_in: 3540 },
  },
  token_exchange: {
    summary: 'RFC 8693 token exchange',
    value: { access_token: exampleToken, issued_token_type: accessTokenType, token_type: 'bearer',
      expires_in: 3540, headers: { 'x-amz-access-token': exampleToken } },
  },
}

export const lwaTokenSchema = {
  operationId: 'lwaCompatibleToken',
  tags: ['lwa-compat', 'tokens'],
  summary: 'Get an access token the way Login with Amazon\'s token endpoint (or an RFC 8693 STS) hands one out.',
  description: 'Login with Amazon\'s own token endpoint in shape, so an LWA client or SDK uses the broker by '
    + 'changing, or routing, that one URL. Three grants:\n\n- `refresh_token`: send the broker credential\'s name as '
    + '`refresh_token`, and the caller\'s JWT as `client_secret` (what LWA clients send) or as an `Authorization: '
    + 'Bearer` header (which wins; any other Authorization scheme, such as an SDK\'s Basic client authentication, '
    + 'does not hide the body\'s JWT). The answer echoes the name as `refresh_token`.\n- `client_credentials` '
    + '(grantless): `scope` picks the `client_credentials` credential with exactly that scope among those the caller '
    + 'may use; if several, the one whose app has the `client_id` sent; none or still several is `invalid_scope`. '
    + 'The JWT as for `refresh_token`. The answer is LWA\'s: `scope`, no `refresh_token`.\n- RFC 8693 token '
    + 'exchange: the JWT is `subject_token`, the credential\'s name `resource` or `audience`; the answer adds '
    + '`issued_token_type` and `GET /token`\'s `headers`.\n\nThe body is a form (at most 16 KiB) or JSON. The token '
    + 'is the credential\'s cached one with at least `min_ttl` (default `tokens.defaultMinTtlSeconds`) left; for the '
    + 'two LWA grants at least `lwaCompat.minRemainingSeconds` (default 3300), since some SDKs cache a token for a '
    + 'fixed time whatever `expires_in` says (which is always the life truly left). No request waits longer than '
    + '`lwaCompat.deadlineMs` (default 4000) from its arrival: then 503, before an SDK\'s own timeout. Same '
    + 'policy, cache, audit, metrics and rate-limit budget as `GET /token`. Errors are `{error, error_description}` '
    + 'with LWA\'s (RFC 6749\'s) statuses; the broker\'s own code is in its log and audit line, under the '
    + '`X-Request-Id`.\n\nThe checks run in this order: in sidecar mode, a request that is not a direct loopback one '
    + '(400 `invalid_grant`); body (400); rate limit (429); `grant_type` (400 `unsupported_grant_type`) and the '
    + 'grant\'s own fields (400 `invalid_request`, `unsupported_token_type`, `invalid_target` for a `resource` that '
    + 'cannot be a credential name); JWT (401; token exchange: 400 `invalid_request` for a missing or bad '
    + '`subject_token`); policy and '
    + 'existence (400 `invalid_grant`, `invalid_scope` or `invalid_target` by grant: the same answer for both, so a '
    + 'caller learns nothing about names it may not use); the token (400, 500, 503).',
  security: [...bearerAuth, {}],
  headers: RequestIdHeaders,
  consumes: ['application/x-www-form-urlencoded', 'application/json'],
  body: CompatRequest,
  response: {
    200: jsonReply(
      Type.Union([CompatToken, GrantlessToken, ExchangedToken]),
      'The grant\'s answer with the broker\'s cached access token. Do not cache it in a shared cache.',
      { headers: noStoreHeader, examples: tokenExamples },
    ),
    400: lwaReply([
      'invalid_request', 'unsupported_grant_type', 'invalid_grant', 'invalid_scope', 'invalid_target',
      'unsupported_token_type',
    ], '`invalid_request` (a malformed body; a grant\'s required field missing; `refresh_token` not a credential name; '
      + '`resource` and `audience` that differ; token exchange: no `subject_token`, or one that is not an acceptable '
      + 'JWT, as RFC 8693 requires), `unsupported_grant_type`, `invalid_grant` (refresh_token: the caller may not use '
      + 'the credential, no credential has that name, or LWA refused the credential\'s stored secret or grant, in '
      + 'sidecar mode also a proxied request), `invalid_scope` (client_credentials: no credential the caller may use '
      + 'has the scope, or '
      + 'several do and `client_id` does not single one out), `invalid_target` (token exchange: no such credential, '
      + 'or the caller may not use it, or LWA refused it), `unsupported_token_type` (a `subject_token_type` or '
      + '`requested_token_type` not served).', {
      invalid_request: answer('invalid_request', lwaErrors.invalid_request.description),
      invalid_grant: answer('invalid_grant', lwaErrors.forbidden.description),
      unsupported_grant_type: answer(unsupportedGrant.error, unsupportedGrant.description),
      invalid_scope: answer(invalidScope.error, invalidScope.description),
      invalid_target: answer(invalidTarget.error, invalidTarget.description),
      unsupported_token_type: answer(unsupportedTokenType.error, unsupportedTokenType.description),
    }),
    401: lwaReply(['invalid_client'], '`invalid_client` (refresh_token and client_credentials): no JWT, or the JWT '
      + 'is not acceptable. No `WWW-Authenticate`: LWA sends none.', {
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
      + 'store or the caller\'s JWT keys cannot be reached right now, or no token came within `lwaCompat.deadlineMs`. '
      + 'Retry after `Retry-After` seconds.', {
      unavailable: answer('temporarily_unavailable', lwaErrors.upstream_unavailable.description),
    }, true),
  },
}
