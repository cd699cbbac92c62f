import { Type, type Static } from 'typebox'
import { internalError, RequestIdHeaders, sidecarRefused } from './common.js'
import { errorReplies, jsonReply } from './replies.js'

export const HealthResponse = Type.Object(
  { status: Type.Literal('ok') },
  { additionalProperties: false, title: 'HealthResponse' },
)

export const ReadyResponse = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  checks: Type.Record(Type.String(), Type.Enum(['ok', 'failing']), {
    description: '`config`, `secrets` (the secret backend has answered), `issuers` (at least one issuer\'s keys are '
      + 'loaded), with a `catalogue` also `catalogue` (a listing of the tagged secrets has completed), and `shutdown` '
      + 'while draining.',
  }),
}, { additionalProperties: false, title: 'ReadyResponse' })
export type ReadyResponse = Static<typeof ReadyResponse>

const probeErrors = errorReplies([sidecarRefused, internalError])

export const healthzSchema = {
  operationId: 'getHealth',
  tags: ['health'],
  summary: 'Liveness probe.',
  description: 'The process is up and answering. It checks nothing else; use `/readyz` to decide whether to send '
    + 'traffic. Served on the caller listener and the ops listener alike.',
  security: [],
  headers: RequestIdHeaders,
  response: {
    200: jsonReply(HealthResponse, 'The process answers.', { examples: { ok: { value: { status: 'ok' } } } }),
    ...probeErrors,
  },
}

export const readyzSchema = {
  operationId: 'getReadiness',
  tags: ['health'],
  summary: 'Readiness probe.',
  description: 'Whether the broker can serve anything at all: the config is loaded, the secret backend has answered (a '
    + 'value, or "no such secret"), and at least one issuer\'s keys are loaded. One missing secret or unreachable '
    + 'issuer does not make a replica unready: that credential is `misconfigured` (or that issuer named) in status, '
    + 'metrics and the log, and every other credential is served. Evaluated on a timer (`readiness.intervalSeconds`); '
    + 'a probe answers the last result, so probes cost nothing upstream. Once ready it stays so (a later outage is '
    + 'ridden out on cached secrets and keys) until the broker drains for shutdown. Served on both listeners.',
  security: [],
  headers: RequestIdHeaders,
  response: {
    200: jsonReply(ReadyResponse, 'Ready; every check is `ok`.', {
      examples: { ready: { value: { status: 'ready', checks: { config: 'ok', issuers: 'ok', secrets: 'ok' } } } },
    }),
    503: jsonReply(
      ReadyResponse,
      'Not ready; at least one check is `failing` (the secret backend never answered, no issuer\'s keys could be '
        + 'loaded, or the broker is draining).',
      {
        examples: {
          not_ready: { value: { status: 'not_ready', checks: { config: 'ok', issuers: 'ok', secrets: 'failing' } } },
        },
      },
    ),
    ...probeErrors,
  },
}
