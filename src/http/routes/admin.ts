import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isAdmin, type Principal } from '../../auth/index.js'
import { BrokerError, isBrokerError } from '../../errors.js'
import type { Discovery } from '../../catalogue/discovery.js'
import type { ProfileBook } from '../../ads/profile-book.js'
import type { LinkTarget } from '../../onboarding/onboarding.js'
import type { Services } from '../../services.js'
import type { CredentialStatus } from '../../tokens/index.js'
import {
  listCredentialsSchema, refreshCredentialSchema, reloadSecretsSchema, type CredentialParams, type CredentialStatusBody,
} from '../contract/admin.js'
import { createOnboardingLinkSchema, type OnboardingRequest } from '../contract/onboarding-links.js'
import { refreshCatalogueSchema, type CatalogueRefreshResponse } from '../contract/catalogue.js'
import { getCredentialSchema, type CredentialDetailBody } from '../contract/credential-detail.js'
import { auditContext, requireCaller } from '../guards/caller-guard.js'
import { registerAppRoutes } from './admin-apps.js'

/**
 * Operator endpoints for callers whose policy rule says `admin: true`: credential status
 * (never a secret or token), a forced refresh, a secret reload, onboarding links. Each call
 * is audited.
 */
export function registerAdminRoutes(app: FastifyInstance, services: Services): void {
  const { tokens, status, profiles, onboarding } = services
  const admin = (action: string, run: AdminAction) => adminHandler(services, action, run)

  app.get('/admin/credentials', { schema: listCredentialsSchema },
    admin('credentials.list', async () => ({ credentials: status.list().map(toBody) })))

  app.get<{ Params: CredentialParams }>('/admin/credentials/:name', { schema: getCredentialSchema },
    admin('credentials.get', async (request) => {
      const { name } = request.params as CredentialParams
      const found = status.of(name)
      if (!found) throw new BrokerError('unknown_credential', `no credential named ${name}`)
      return withProfiles(toBody(found), profiles, name)
    }))

  app.post<{ Params: CredentialParams }>('/admin/credentials/:name/refresh', { schema: refreshCredentialSchema },
    admin('credentials.refresh', async (request) => {
      const { name } = request.params as CredentialParams
      await tokens.forceRefresh(name)
      return toBody(status.of(name) as CredentialStatus)
    }))

  app.post('/admin/secrets/reload', { schema: reloadSecretsSchema },
    admin('secrets.reload', async () => ({ reloaded_secrets: (await tokens.reloadSecrets()).length })))

  if (services.discovery) registerCatalogueRoute(services.discovery, admin, app)
  registerAppRoutes(app, services.apps, admin)
  if (onboarding) {
    app.post<{ Body: OnboardingRequest }>('/admin/onboarding', { schema: createOnboardingLinkSchema },
      admin('onboarding.link', async (request) => {
        const body = request.body as OnboardingRequest
        const { url, expiresAtMs } = await onboarding.createLink(linkTarget(body), {
          expectedAccount: body.expected_account,
          replace: body.replace,
        })
        return { url, expires_at: new Date(expiresAtMs).toISOString() }
      }))
  }
}

function registerCatalogueRoute(
  discovery: Discovery,
  admin: (action: string, run: AdminAction) => ReturnType<typeof adminHandler>,
  app: FastifyInstance,
): void {
  app.post('/admin/catalogue/refresh', { schema: refreshCatalogueSchema },
    admin('catalogue.refresh', async (): Promise<CatalogueRefreshResponse> => {
      const listed = await discovery.refresh('admin').catch((err: unknown) => {
        throw new BrokerError('upstream_unavailable', 'Secrets Manager could not be listed; the catalogue keeps what '
          + 'it knew', { retryAfterSeconds: 5, logDetail: { listingError: (err as Error).message }, cause: err })
      })
      const count = (kind: string): number => listed.changes.filter((c) => c.kind === kind).length
      return {
        listed_secrets: listed.secrets, list_calls: listed.calls,
        added: count('added'), changed: count('changed'), removed: count('removed'),
      }
    }))
}

type AdminAction = (request: FastifyRequest, caller: Principal) => Promise<unknown>

function adminHandler(services: Services, action: string, run: AdminAction) {
  const { audit } = services
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // Status and one-time onboarding links are nothing for a cache to keep.
    reply.header('cache-control', 'no-store')
    const ctx = auditContext(request, knownTarget(request, services))
    try {
      const caller = requireCaller(request)
      if (!isAdmin(services.policy, caller)) {
        throw new BrokerError('forbidden', `caller ${caller.subject} is not an admin`)
      }
      const result = await run(request, caller)
      audit.admin(ctx, action, 'allowed')
      return result
    } catch (err) {
      audit.admin(ctx, action, 'denied', isBrokerError(err) ? err.code : 'internal_error')
      throw err
    }
  }
}

/**
 * The credential an admin call is about, for the audit line: only a validated name the broker
 * knows. Request text the route has not validated (a body on a route that takes none) never
 * reaches the log.
 */
function knownTarget(request: FastifyRequest, services: Services): string | undefined {
  const schema = request.routeOptions.schema
  const params = schema?.params ? (request.params as { name?: unknown }).name : undefined
  const body = schema?.body ? (request.body as { credential?: unknown } | undefined)?.credential : undefined
  const name = params ?? body
  return typeof name === 'string' && services.tokens.has(name) ? name : undefined
}

const iso = (ms: number): string => new Date(ms).toISOString()
const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : iso(ms))

function withProfiles(body: CredentialStatusBody, profiles: ProfileBook, name: string): CredentialDetailBody {
  const known = profiles.listOf(name)
  return {
    ...body,
    profiles: known ? known.profiles.map((p) => ({
      id: p.id, country_code: p.countryCode, type: p.type, account_id: p.accountId, account_name: p.accountName,
    })) : null,
    profiles_read_at: known ? iso(known.readAtMs) : null,
  }
}

function toBody(s: CredentialStatus): CredentialStatusBody {
  const error = s.lastError
  return {
    credential: s.credential,
    origin: s.origin,
    api: s.api ?? null,
    region: s.region ?? null,
    labels: { ...s.labels },
    health: s.health,
    tag_problem: s.tagProblem ? { ...s.tagProblem } : null,
    token_expires_at: isoOrNull(s.tokenExpiresAtMs),
    last_refresh_at: isoOrNull(s.lastRefreshAtMs),
    last_used_at: isoOrNull(s.lastUsedAtMs),
    secret_versions: s.secretVersions ? { app: s.secretVersions.app, grant: s.secretVersions.grant ?? null } : null,
    secret_stage: s.stage && s.stage.stage !== 'AWSCURRENT' ? { secret: s.stage.secret, stage: s.stage.stage } : null,
    last_error: error
      ? {
          code: error.code,
          lwa_error: error.lwaError ?? null,
          at: iso(error.atMs),
          since: iso(error.sinceMs),
          retry_at: iso(error.retryAtMs),
          consecutive_failures: error.consecutive,
        }
      : null,
  }
}

/** Exactly one of an existing credential and one to create; the body's snake_case becomes the core's names. */
function linkTarget(body: OnboardingRequest): LinkTarget {
  const { credential, create } = body
  if ((credential === undefined) === (create === undefined)) {
    throw new BrokerError('invalid_request', 'the body needs exactly one of "credential" and "create"')
  }
  if (!create) return { credential: credential as string }
  if (create.api === 'sp-api' && create.application_id === undefined) {
    throw new BrokerError('invalid_request', 'create.application_id is required for an SP-API credential')
  }
  const { application_id: applicationId, labels = {}, ...rest } = create
  return { create: { ...rest, labels, ...(applicationId !== undefined ? { applicationId } : {}) } }
}
