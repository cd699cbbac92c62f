import { Type, type Static } from 'typebox'
import { apis, regions } from '../../config/schema.js'
import {
  bearerAuth,
  CredentialName,
  credentialFailed,
  internalError,
  rateLimited,
  RequestIdHeaders,
  unauthenticated,
  unknownCredential,
  upstreamUnavailable,
} from './common.js'
import { errorReplies, jsonReply, type ErrorSpec } from './replies.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const time = (description: string) => Nullable(Type.String({ format: 'date-time', description }))

export const CredentialStatusSchema = Type.Object({
  credential: Type.String(),
  origin: Type.Enum(['config', 'secret'], {
    description: '`config`: declared in the config file. `secret`: discovered from a tagged secret (`catalogue`).',
  }),
  api: Nullable(Type.Enum(apis, { description: 'null only for a discovered credential whose api tag is invalid.' })),
  region: Nullable(Type.Enum(regions, { description: 'null only for a discovered credential whose region tag is '
    + 'invalid.' })),
  labels: Type.Record(Type.String(), Type.String(), { description: 'What policy rules can select the credential by.' }),
  health: Type.Enum(['healthy', 'degraded', 'rejected', 'misconfigured'], {
    description: '`healthy`: the last refresh worked. `degraded`: refreshes fail with retryable errors (the cached '
      + 'token may still serve), or the credential is served from a secret stage other than AWSCURRENT. `rejected`: '
      + 'LWA refused it. `misconfigured`: its secret is missing, not JSON, or lacks a field, or (discovered) one of '
      + 'its tags is invalid.',
  }),
  tag_problem: Nullable(Type.Object({
    tag: Type.String({ description: 'The secret\'s tag that is wrong, e.g. `lwa-broker:region`.' }),
    message: Type.String(),
  }, { description: 'A discovered credential whose tags do not declare a usable credential; null otherwise.' })),
  token_expires_at: time('When the cached token expires; null without one.'),
  last_refresh_at: time('When the cached token was obtained.'),
  last_used_at: time('When a caller last asked for it.'),
  secret_versions: Nullable(Type.Object(
    { app: Type.String(), grant: Nullable(Type.String()) },
    { description: 'The secret versions the cached token was obtained with.' },
  )),
  secret_stage: Nullable(Type.Object({
    secret: Type.Enum(['app', 'grant']),
    stage: Type.Enum(['AWSPENDING', 'AWSPREVIOUS']),
  }, {
    description: 'Set while LWA rejects what AWSCURRENT holds and another stage serves (a rotation under way); the '
      + 'credential is degraded.',
  })),
  last_error: Nullable(Type.Object({
    code: Type.String({ description: 'The error code a caller would get.' }),
    lwa_error: Nullable(Type.String({ description: 'LWA\'s own error code, when LWA answered one.' })),
    at: Type.String({ format: 'date-time' }),
    since: Type.String({ format: 'date-time', description: 'When the run of failures began.' }),
    retry_at: Type.String({
      format: 'date-time',
      description: 'When the broker tries again (callers get the error at once until then).',
    }),
    consecutive_failures: Type.Integer(),
  })),
}, { additionalProperties: false, title: 'CredentialStatus' })
export type CredentialStatusBody = Static<typeof CredentialStatusSchema>

export const CredentialListResponse = Type.Object(
  { credentials: Type.Array(CredentialStatusSchema) },
  { additionalProperties: false, title: 'CredentialListResponse' },
)
export const CredentialParams = Type.Object({ name: CredentialName }, { additionalProperties: false })
export type CredentialParams = Static<typeof CredentialParams>
export const ReloadResponse = Type.Object(
  { reloaded_secrets: Type.Integer({ description: 'How many distinct secrets will be re-read.' }) },
  { additionalProperties: false, title: 'ReloadResponse' },
)

/** Admin routes take no query parameters; a stray one is an error, as on /token. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

export const adminForbidden: ErrorSpec = {
  codes: ['forbidden'],
  description: '`forbidden`: the JWT is valid but no policy rule with `admin: true` applies to this caller; returned '
    + 'before anything is looked up, so a non-admin learns nothing about the credentials. In sidecar mode, also a '
    + 'proxied or non-loopback request.',
  examples: {
    not_admin: {
      value: {
        error: 'forbidden',
        message: 'caller system:serviceaccount:ads:reporter is not an admin',
        request_id: '5d1f0c3a-7b2e-4c9d-8e6f-1a2b3c4d5e6f',
      },
    },
  },
}
export const adminInvalid: ErrorSpec = {
  codes: ['invalid_request'],
  description: '`invalid_request`: a query parameter was sent, `name` is not a valid credential name, or the body is '
    + 'not what the route takes. The message says which.',
}
export const checks = (extra: string) => 'The checks run in this order: in sidecar mode, a request that is not a '
  + 'direct loopback one (403); query, path and body (400); JWT and rate limit (401, 429, shared with `GET /token`); '
  + `admin (403)${extra}. The JWT comes from the \`Authorization\` header only.`

export const adminRoute = <T extends Record<string, unknown>>(fields: T) => ({
  tags: ['admin'], security: bearerAuth, headers: RequestIdHeaders, querystring: NoQuery, ...fields,
})

export const listCredentialsSchema = adminRoute({
  operationId: 'listCredentials',
  summary: 'List the configured credentials and their status.',
  description: 'Every configured credential, in config order, with its API, region, health, cached token expiry, last '
    + 'refresh and use, the secret versions and stage its token was obtained with, and its last error — including a '
    + 'secret the background sweep could not read before anyone asked for the token. Never a secret, a token, a client '
    + 'id or a secret id.\n\n'
    + checks('') + ' Audited as `admin.credentials.list`.',
  response: {
    200: jsonReply(CredentialListResponse, 'The status of every configured credential.'),
    ...errorReplies([adminInvalid, unauthenticated, adminForbidden, rateLimited, internalError]),
  },
})

export const refreshCredentialSchema = adminRoute({
  operationId: 'refreshCredential',
  summary: 'Obtain a new token for one credential now.',
  description: 'Obtains a new token from LWA now (joining a refresh already in flight), whatever the refresh point or '
    + 'backoff says, within the request deadline, and tells the other replicas to take it. The cached token keeps '
    + 'serving until the new one arrives, and stays if the refresh fails. Answers the credential\'s status '
    + 'afterwards.\n\n'
    + checks('; credential exists (404: only admins learn whether a name is configured)') + ' Send no body. Audited as '
    + '`admin.credentials.refresh` with the credential name.',
  params: CredentialParams,
  response: {
    200: jsonReply(
      CredentialStatusSchema,
      'The refresh succeeded; the credential\'s status with its new token\'s expiry.',
    ),
    ...errorReplies([
      adminInvalid,
      unauthenticated,
      adminForbidden,
      unknownCredential,
      rateLimited,
      internalError,
      credentialFailed,
      upstreamUnavailable,
    ]),
  },
})

export const reloadSecretsSchema = adminRoute({
  operationId: 'reloadSecrets',
  summary: 'Re-read every credential\'s secrets.',
  description: 'Makes every secret a configured credential names be re-read on its next use, and lets failed '
    + 'credentials be tried again at once, so a fixed or rotated secret is used right away; on every replica, when '
    + 'they share Redis. Cached tokens stay: they are still valid. The failure stays on record until a refresh '
    + 'succeeds.\n\n'
    + checks('') + ' Send no body. Audited as `admin.secrets.reload`.',
  response: {
    200: jsonReply(
      ReloadResponse,
      'The secrets will be re-read; how many distinct secrets that is.',
      { examples: { four: { value: { reloaded_secrets: 4 } } } },
    ),
    ...errorReplies([adminInvalid, unauthenticated, adminForbidden, rateLimited, internalError]),
  },
})
