import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { isAdmin, type CompiledRule, type Principal } from '../auth/index.js'
import { BrokerError, isBrokerError } from '../errors.js'
import type { AuditLog } from '../observability/audit.js'
import type { CredentialStatus, TokenService } from '../tokens/index.js'
import { auditContext, requireCaller } from './caller-guard.js'
import type { Onboarding } from '../onboarding/onboarding.js'
import { CredentialListResponse, CredentialParams, CredentialStatusSchema, ErrorResponse, OnboardingLink, OnboardingRequest, ReloadResponse, type CredentialStatusBody } from './schemas.js'

export interface AdminRouteDeps {
  policy: readonly CompiledRule[]
  tokens: TokenService
  audit: AuditLog
  /** Present when onboarding is configured. */
  onboarding: Onboarding | undefined
}

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse }
/** Admin routes take no query parameters; a stray one is an error, as on /token. */
const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * Operator endpoints for callers whose policy rule says `admin: true`: credential status
 * (never a secret or token), a forced refresh, a secret reload. Each call is audited.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const admin = (action: string, run: (request: FastifyRequest, caller: Principal) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) => {
    // Status and one-time onboarding links are nothing for a cache to keep.
    reply.header('cache-control', 'no-store')
    const ctx = auditContext(request, knownTarget(request, deps.tokens))
    try {
      const caller = requireCaller(request)
      if (!isAdmin(deps.policy, caller)) throw new BrokerError('forbidden', `caller ${caller.subject} is not an admin`)
      const result = await run(request, caller)
      deps.audit.admin(ctx, action, 'allowed')
      return result
    } catch (err) {
      deps.audit.admin(ctx, action, 'denied', isBrokerError(err) ? err.code : 'internal_error')
      throw err
    }
  }

  app.get('/admin/credentials', { schema: { querystring: NoQuery, response: { 200: CredentialListResponse, ...errors } } },
    admin('credentials.list', async () => ({ credentials: deps.tokens.status().map(toBody) })))

  app.post<{ Params: CredentialParams }>('/admin/credentials/:name/refresh', { schema: { querystring: NoQuery, params: CredentialParams, response: { 200: CredentialStatusSchema, ...errors } } },
    admin('credentials.refresh', async (request) => {
      const { name } = request.params as CredentialParams
      await deps.tokens.forceRefresh(name)
      return toBody(deps.tokens.status().find((s) => s.credential === name) as CredentialStatus)
    }))

  app.post('/admin/secrets/reload', { schema: { querystring: NoQuery, response: { 200: ReloadResponse, ...errors } } },
    admin('secrets.reload', async () => ({ reloaded_secrets: (await deps.tokens.reloadSecrets()).length })))

  const { onboarding } = deps
  if (onboarding) {
    app.post<{ Body: OnboardingRequest }>('/admin/onboarding', { schema: { querystring: NoQuery, body: OnboardingRequest, response: { 200: OnboardingLink, ...errors } } },
      admin('onboarding.link', async (request) => {
        const body = request.body as OnboardingRequest
        const { url, expiresAtMs } = onboarding.createLink(body.credential, { expectedAccount: body.expected_account, replace: body.replace })
        return { url, expires_at: new Date(expiresAtMs).toISOString() }
      }))
  }
}

/**
 * The credential an admin call is about, for the audit line: only a validated name the broker
 * knows. Request text the route has not validated (a body on a route that takes none) never
 * reaches the log.
 */
function knownTarget(request: FastifyRequest, tokens: TokenService): string | undefined {
  const schema = request.routeOptions.schema
  const params = schema?.params ? (request.params as { name?: unknown }).name : undefined
  const body = schema?.body ? (request.body as { credential?: unknown } | undefined)?.credential : undefined
  const name = params ?? body
  return typeof name === 'string' && tokens.has(name) ? name : undefined
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

function toBody(s: CredentialStatus): CredentialStatusBody {
  return {
    credential: s.credential,
    api: s.api,
    region: s.region,
    health: s.health,
    token_expires_at: iso(s.tokenExpiresAtMs),
    last_refresh_at: iso(s.lastRefreshAtMs),
    last_used_at: iso(s.lastUsedAtMs),
    secret_versions: s.secretVersions ? { app: s.secretVersions.app, grant: s.secretVersions.grant ?? null } : null,
    secret_stage: s.stage && s.stage.stage !== 'AWSCURRENT' ? { secret: s.stage.secret, stage: s.stage.stage } : null,
    last_error: s.lastError
      ? { code: s.lastError.code, lwa_error: s.lastError.lwaError ?? null, at: iso(s.lastError.atMs) as string, since: iso(s.lastError.sinceMs) as string, retry_at: iso(s.lastError.retryAtMs) as string, consecutive_failures: s.lastError.consecutive }
      : null,
  }
}
