/**
 * What openapi.yaml says beyond the routes: the API as a whole, its tags, its security
 * scheme. The routes' own schemas (src/http/contract/*) are the rest; scripts/openapi.ts
 * puts them together.
 */
export const documentInfo = {
  title: 'lwa-broker',
  version: '0.1.0',
  summary: 'Vends cached Login with Amazon (LWA) access tokens to JWT-authenticated callers.',
  description: 'The broker holds LWA client secrets and refresh tokens (in AWS Secrets Manager or, for local use, a '
    + 'file) and hands out short-lived LWA access tokens by credential name. Callers authenticate with a JWT from a '
    + 'trusted issuer (typically a Kubernetes projected service-account token with audience `lwa-broker`); a policy '
    + 'decides which credentials each caller may use.\n\n**Two listeners.** The caller listener (`listen`, default '
    + '127.0.0.1:8787) serves every route but `/metrics`; the ops listener (`ops`, default 127.0.0.1:8788) serves '
    + '`/metrics`, `/healthz` and `/readyz` for Prometheus and the kubelet.\n\n**Errors.** Every error is JSON '
    + '`{error, message, request_id}` with a stable `error` code (see `ErrorResponse`). Branch on `error`, never on '
    + '`message`. Two exceptions: `POST /auth/o2/token` answers errors in Login with Amazon\'s own shape `{error, '
    + 'error_description}`, and the onboarding pages a browser opens answer HTML.\n\n**Unknown routes.** Any method '
    + 'and path not listed here is answered `404` with `error: not_found`.\n\n**Slow requests.** A request whose '
    + 'headers and body do not arrive within `http.requestTimeoutSeconds` (headers: `http.headersTimeoutSeconds`) is '
    + 'answered `408` with `error: request_timeout` on any route, and its connection closed; a request that is not '
    + 'valid HTTP, `400 invalid_request`.\n\n**A `500 internal_error` is always a bug** in the broker: report it with '
    + 'the `request_id`.\n\nEvery response carries `X-Request-Id`. A caller may send its own `X-Request-Id` (1-64 '
    + 'characters of `A-Z a-z 0-9 . _ : -`); it is then used as the request id, otherwise the broker makes one up (a '
    + 'UUID).',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
}

export const callerServer = {
  url: 'http://127.0.0.1:8787',
  description: 'The caller listener (`listen.host`/`listen.port`); a sidecar is reached here.',
}
export const opsServer = {
  url: 'http://127.0.0.1:8788',
  description: 'The ops listener (`ops.host`/`ops.port`): metrics and probes, for operators only.',
}

export const documentTags = [
  { name: 'tokens', description: 'LWA access tokens for the caller\'s credentials.' },
  { name: 'health', description: 'Liveness and readiness probes (unauthenticated), on both listeners.' },
  { name: 'admin', description: 'Operator endpoints: credential status, forced refresh, secret reload, onboarding '
    + 'links. Only for callers that a policy rule with `admin: true` applies to. Every call is audited (`event: '
    + 'admin.<action>`).' },
  { name: 'metrics', description: 'Prometheus metrics (unauthenticated), on the ops listener only.' },
  { name: 'lwa-compat', description: 'Login with Amazon\'s own token endpoint shape, for LWA clients and SDKs that '
    + 'cannot be changed beyond their token URL.' },
  { name: 'onboarding', description: 'Connecting an advertiser\'s or seller\'s Amazon account to a credential without '
    + 'anyone handling the refresh token. These routes exist only when `onboarding` is configured.' },
]

export const securitySchemes = {
  bearerAuth: {
    type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT',
    description: '`Authorization: Bearer <JWT>`, signed by an issuer in the broker\'s config with one of that '
      + 'issuer\'s allowed algorithms (asymmetric only, unless the issuer has a shared secret; never `none`). `iss`, '
      + '`aud`, `exp` and `sub` are required. In Kubernetes this is a projected service-account token with `audience: '
      + 'lwa-broker`.',
  },
}
