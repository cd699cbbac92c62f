import { Type, type Static } from 'typebox'
import { credentialNamePattern } from '../../config/schema.js'
import { errorCodes } from '../../errors.js'
import type { ErrorSpec } from './replies.js'

/** The caller's own id for the request, accepted when it is short and plain. */
export const RequestIdHeaders = Type.Object({
  'x-request-id': Type.Optional(Type.String({
    description: 'The caller\'s own id for this request, used in the broker\'s logs, its audit line, the '
      + '`X-Request-Id` response header and `request_id` of an error. A value that does not match '
      + '`^[A-Za-z0-9._:-]{1,64}$` is ignored and the broker makes up its own.',
  })),
})

export const CredentialName = Type.String({
  pattern: credentialNamePattern,
  description: 'Name of the credential as configured in the broker (e.g. `ads-us`, `sp-acme-eu`).',
  examples: ['ads-us'],
})

/** Every error, as openapi.yaml's `ErrorResponse` component: the routes narrow `error` per status. */
export const ErrorResponse = Type.Object({
  error: Type.Enum(errorCodes),
  message: Type.String(),
  request_id: Type.String(),
}, { additionalProperties: false, title: 'ErrorResponse' })
export type ErrorResponse = Static<typeof ErrorResponse>

export const bearerAuth = [{ bearerAuth: [] }]

/** The errors every route can answer: in sidecar mode a proxied request, and a bug. */
export const sidecarRefused: ErrorSpec = {
  codes: ['forbidden'],
  description: 'In sidecar mode, a request that carries a proxy header (`X-Forwarded-*`, `Forwarded`, `Via`, '
    + '`X-Envoy-*`, `True-Client-IP`, …) or does not come over loopback.',
}

export const internalError: ErrorSpec = {
  codes: ['internal_error'],
  description: '`internal_error`: always a bug in the broker. Report it with the `request_id`; the log has the detail.',
}

export const unauthenticated: ErrorSpec = {
  codes: ['unauthenticated'],
  description: '`unauthenticated`: no `Authorization: Bearer` header, or the JWT is not acceptable (bad signature, '
    + 'unknown key or issuer, wrong audience, expired, disallowed algorithm, no subject, a reused `jti` of an issuer '
    + 'with `requireJti`…). Every such failure gets the same answer; the broker\'s log says which check failed.',
  examples: {
    unauthenticated: {
      value: {
        error: 'unauthenticated',
        message: 'missing or invalid bearer token',
        request_id: '95ea2cd0-0500-43f1-b426-3a5da09a20da',
      },
    },
  },
}

export const rateLimited: ErrorSpec = {
  codes: ['rate_limited'],
  description: '`rate_limited`: this caller (or, before its JWT is verified, its address, an IPv6 /64 counting as one; '
    + 'or all callers of a policy rule with `aggregateMax`) sent too many requests in the window; wait `Retry-After` '
    + 'seconds. The budget is shared by every route of the caller listener.',
  examples: {
    rate_limited: {
      value: {
        error: 'rate_limited',
        message: 'too many requests; retry in 37 s',
        request_id: '0f4c2b8e-1d3a-4e5f-9a7b-6c8d0e2f4a6b',
      },
    },
  },
}

export const upstreamUnavailable: ErrorSpec = {
  codes: ['upstream_unavailable'],
  description: '`upstream_unavailable`: no valid cached token, and LWA, the secret store or the caller\'s JWT keys '
    + 'cannot be reached right now (or no token came within `tokens.requestDeadlineMs`). Retry after `Retry-After` '
    + 'seconds.',
  examples: {
    lwa_down: {
      value: {
        error: 'upstream_unavailable',
        message: 'LWA is unavailable for credential ads-us (temporarily_unavailable)',
        request_id: 'a2c4e6f8-0b1d-4f3a-8c5e-7a9b1d3f5e7a',
      },
    },
  },
}

export const credentialFailed: ErrorSpec = {
  codes: ['credential_rejected', 'credential_misconfigured'],
  description: '`credential_rejected`: LWA refused the stored grant or client secret even after a re-read '
    + '(`invalid_grant`, `invalid_client`, … — the LWA code is in the message); an operator must fix the secret. '
    + '`credential_misconfigured`: the credential\'s secret does not exist, is not a JSON object, or lacks a field '
    + '(the field is named).',
  examples: {
    rejected: {
      value: {
        error: 'credential_rejected',
        message: 'LWA rejected credential sp-acme-eu (invalid_grant)',
        request_id: '3b5d7f9a-1c3e-4a5b-8d7f-9b1c3d5e7f9a',
      },
    },
    misconfigured: {
      value: {
        error: 'credential_misconfigured',
        message: 'credential ads-us is misconfigured: its secret lacks the field "refresh_token"',
        request_id: '7d9f1b3c-5e7a-4c9b-8f1d-3b5c7d9e1f3a',
      },
    },
  },
}

export const unknownCredential: ErrorSpec = {
  codes: ['unknown_credential'],
  description: '`unknown_credential`: no credential of that name is configured. Only a caller entitled to the name '
    + 'learns this: for `GET /token` one the policy would let use it, for the admin routes an admin.',
  examples: {
    unknown: {
      value: {
        error: 'unknown_credential',
        message: 'no credential named ads-nope',
        request_id: 'b13ae6f2-aa48-4dd4-8d44-f54a5df12cd5',
      },
    },
  },
}
