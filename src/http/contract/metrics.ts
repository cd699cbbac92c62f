import { internalError, RequestIdHeaders } from './common.js'
import { errorReplies } from './replies.js'
import { requestIdHeader } from './headers.js'

/** Every family the broker exports, as the description lists them (a test checks the list against a scrape). */
export const metricFamilies: ReadonlyArray<[name: string, type: string, labels: string, what: string]> = [
  [
    'lwa_broker_http_requests_total', 'counter', '`route`, `method`, `status`',
    'HTTP requests of the caller listener (`route` is the route template; `unmatched` for unknown routes).',
  ],
  ['lwa_broker_http_request_duration_seconds', 'histogram', '`route`', 'HTTP request latency.'],
  [
    'lwa_broker_tokens_issued_total', 'counter', '`credential`, `outcome`',
    'Token requests: `issued`, or the error code. A name the caller was denied is `(denied)`, one that is not '
      + 'configured `(unknown)`.',
  ],
  [
    'lwa_broker_token_cache_lookups_total', 'counter', '`credential`, `result`',
    'Token cache lookups, `hit` or `miss`.',
  ],
  [
    'lwa_broker_lwa_requests_total', 'counter', '`credential`, `grant`, `result`',
    'Calls to the LWA token endpoint: `ok`, or LWA\'s error code.',
  ],
  ['lwa_broker_lwa_request_duration_seconds', 'histogram', '`grant`', 'LWA token endpoint latency.'],
  [
    'lwa_broker_secrets_manager_requests_total', 'counter', '`operation`, `result`',
    'AWS Secrets Manager calls: `ok`, or the AWS error name.',
  ],
  ['lwa_broker_jwt_failures_total', 'counter', '`reason`', 'Refused caller JWTs by the check that failed.'],
  [
    'lwa_broker_token_expiry_seconds', 'gauge', '`credential`',
    'Seconds until the cached token expires (negative: expired); absent while a credential has no token.',
  ],
  [
    'lwa_broker_credential_health', 'gauge', '`credential`, `state`',
    '1 for the credential\'s current state (`healthy`, `degraded`, `rejected`, `misconfigured`), 0 for the others.',
  ],
  [
    'lwa_broker_credential_secret_stage', 'gauge', '`credential`, `secret`, `stage`',
    '1 for each credential served from its `app` or `grant` secret\'s `AWSPENDING` or `AWSPREVIOUS` (a rotation '
      + 'under way).',
  ],
  [
    'lwa_broker_secret_stale', 'gauge', '`secret`',
    '1 while the last check of a cached secret failed and its last good value is served (AWS backend).',
  ],
  [
    'lwa_broker_config_reloads_total', 'counter', '`result`',
    'Config reloads (SIGHUP, a changed file) by result: `applied`, `invalid`, `refused` (a restart-only setting).',
  ],
  [
    'lwa_broker_catalogue_listings_total', 'counter', '`result`',
    'Listings of tagged secrets by result (`ok`, `throttled`, `failed`); with `catalogue` only in practice.',
  ],
  ['lwa_broker_catalogue_list_calls_total', 'counter', '', 'ListSecrets calls of those listings, retries included.'],
  [
    'lwa_broker_catalogue_last_listing_timestamp_seconds', 'gauge', '',
    'When the last complete listing finished; absent before the first.',
  ],
  ['lwa_broker_catalogue_credentials', 'gauge', '`origin`', 'Credentials known by origin (`config`, `secret`).'],
  [
    'lwa_broker_catalogue_name_clashes', 'gauge', '',
    'Discovered names the config file also declares (the file\'s credential serves).',
  ],
  [
    'lwa_broker_credential_lifecycle_events_total', 'counter', '`event`',
    'Credential lifecycle events: `connected`, `reauthorized`, `replaced`, `revoked`, `recovered`, `removed`, '
      + '`authorization_expiring` (each also an audit line and, when configured, a webhook).',
  ],
  [
    'lwa_broker_authorization_expiry_timestamp_seconds', 'gauge', '`credential`',
    'When an SP-API credential\'s authorization ends (365 days after the seller last authorized it by onboarding).',
  ],
  [
    'lwa_broker_webhook_deliveries_total', 'counter', '`outcome`',
    'Lifecycle webhook deliveries by outcome; only with `lifecycle.webhook`.',
  ],
  [
    'lwa_broker_webhook_queue_events', 'gauge', '',
    'Lifecycle events waiting for delivery; only with `lifecycle.webhook`.',
  ],
  [
    'lwa_broker_app_client_secret_expiry_timestamp_seconds', 'gauge', '`app`',
    'When each app\'s client secret expires (its `client_secret_expires_at`: from SP-API\'s notifications, or set by '
      + 'an operator).',
  ],
  [
    'lwa_broker_app_secret_rotations_total', 'counter', '`app`, `outcome`',
    'Client-secret rotations asked of Amazon by outcome (`requested`, `already_pending`, `throttled`, `not_enrolled`, '
      + '`failed`); a series appears with its first rotation.',
  ],
  [
    'lwa_broker_app_notifications_total', 'counter', '`kind`, `outcome`',
    'Client-secret notifications from the SQS queue by kind and outcome; only with `apps.notifications`.',
  ],
  [
    'lwa_broker_app_notification_receive_failures_total', 'counter', '',
    'Failed SQS long polls (each backs off); only with `apps.notifications`.',
  ],
  [
    'lwa_broker_rdt_issued_total', 'counter', '`source`',
    'Restricted Data Tokens handed out: from this replica\'s `cache`, `shared` (another replica\'s, through Redis), '
      + '`minted` (a Tokens API call), or `joined` (another caller here was already getting it).',
  ],
  [
    'lwa_broker_rdt_tokens_api_calls_total', 'counter', '`outcome`',
    'createRestrictedDataToken calls: `minted`, `throttled` (Amazon\'s 429), `refused` (400/403), `failed`.',
  ],
  [
    'lwa_broker_rdt_paced_total', 'counter', '',
    'RDT requests the broker refused (`rate_limited`) to keep the Tokens API\'s pace; never sent to Amazon.',
  ],
  [
    'lwa_broker_shared_cache_up', 'gauge', '',
    '1 while the shared cache (Redis) is reachable; only with `cache.backend: redis`.',
  ],
]

const table = metricFamilies
  .map(([name, type, labels, what]) => `| \`${name}\` | ${type} | ${labels} | ${what} |`)
  .join('\n')

export const metricsSchema = {
  operationId: 'getMetrics',
  tags: ['metrics'],
  summary: 'Prometheus metrics (ops listener).',
  description: 'The broker\'s metrics in the Prometheus text exposition format, on the **ops listener** only '
    + '(`ops.host`/`ops.port`, default 127.0.0.1:8788): callers on the caller port cannot scrape. No JWT. Every family '
    + 'is prefixed `lwa_broker_`. Label values are configured names (credential, secret id, route) or fixed codes, '
    + 'never a secret, a token or text a caller sent. A scrape within `ops.metricsCacheSeconds` of the last gets the '
    + 'same text.\n\n'
    + '| Family | Type | Labels | What |\n|---|---|---|---|\n' + table + '\n\n'
    + 'Plus the default Node.js process metrics of prom-client (`lwa_broker_process_*`, `lwa_broker_nodejs_*`).',
  security: [],
  headers: RequestIdHeaders,
  response: {
    200: {
      description: 'The metrics, as `Content-Type: text/plain; version=0.0.4; charset=utf-8` (Prometheus text format '
        + '0.0.4).',
      headers: requestIdHeader,
      content: {
        'text/plain': {
          schema: {
            type: 'string',
            examples: [
              '# TYPE lwa_broker_tokens_issued_total counter\n'
                + 'lwa_broker_tokens_issued_total{credential="ads-us",outcome="issued"} 42\n',
            ],
          },
        },
      },
    },
    ...errorReplies([internalError]),
  },
}
