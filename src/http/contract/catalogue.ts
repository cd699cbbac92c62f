import { Type, type Static } from 'typebox'
import { adminForbidden, adminInvalid, adminRoute, checks } from './admin.js'
import { internalError, rateLimited, unauthenticated } from './common.js'
import { errorReplies, jsonReply, type ErrorSpec } from './replies.js'

export const CatalogueRefreshResponse = Type.Object({
  listed_secrets: Type.Integer({ description: 'Secrets the listing returned (tagged `lwa-broker:credential`).' }),
  list_calls: Type.Integer({ description: 'ListSecrets calls it took, retries of throttled pages included.' }),
  added: Type.Integer(),
  changed: Type.Integer(),
  removed: Type.Integer(),
}, { additionalProperties: false, title: 'CatalogueRefreshResponse' })
export type CatalogueRefreshResponse = Static<typeof CatalogueRefreshResponse>

const listingFailed: ErrorSpec = {
  codes: ['upstream_unavailable'],
  description: '`upstream_unavailable`: Secrets Manager could not be listed (unreachable, throttled past the retries, '
    + 'or access denied). Nothing was removed: the catalogue keeps what the last complete listing found.',
  examples: {
    throttled: {
      value: {
        error: 'upstream_unavailable',
        message: 'Secrets Manager could not be listed; the catalogue keeps what it knew',
        request_id: '7e1a9c3b-2d4f-4b6a-8c0e-1f3a5b7d9c2e',
      },
    },
  },
}

export const refreshCatalogueSchema = adminRoute({
  operationId: 'refreshCatalogue',
  summary: 'List the tagged secrets now.',
  description: 'Served only when `catalogue` is configured. Runs a complete listing of the secrets tagged '
    + '`lwa-broker:credential` now (one already running is followed by a fresh one, so a secret created just before '
    + 'this call is seen) and applies it: new credentials are servable, changed ones drop their cached tokens, gone '
    + 'ones answer `unknown_credential`. With Redis, the other replicas list at once too.\n\n'
    + checks('') + ' Send no body. Audited as `admin.catalogue.refresh`.',
  response: {
    200: jsonReply(CatalogueRefreshResponse, 'What the listing found and changed.', {
      examples: { one_new: { value: { listed_secrets: 120, list_calls: 2, added: 1, changed: 0, removed: 0 } } },
    }),
    ...errorReplies([adminInvalid, unauthenticated, adminForbidden, rateLimited, listingFailed, internalError]),
  },
})
