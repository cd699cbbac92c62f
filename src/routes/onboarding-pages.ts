import cookie from '@fastify/cookie'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import type { AuditLog } from '../observability/audit.js'
import type { ErrorCode } from '../errors.js'
import { asBrokerError, logError } from './error-handler.js'
import { OnboardingError, type Onboarding } from '../onboarding/onboarding.js'

const cookieName = 'lwa_broker_onboarding'
const callbackPath = '/oauth/callback'

const LinkParams = Type.Object({ link: Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' }) })
/** What Amazon's redirect may carry (Ads: code, scope; SP-API: spapi_oauth_code, selling_partner_id; both: state, error). */
const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 2048 })),
  code: Type.Optional(Type.String({ maxLength: 2048 })),
  spapi_oauth_code: Type.Optional(Type.String({ maxLength: 2048 })),
  selling_partner_id: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{1,32}$' })),
  scope: Type.Optional(Type.String({ maxLength: 256 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
})

/**
 * The two pages a browser sees: the one-time link (sets the browser-binding cookie and
 * sends it to Amazon) and the callback (says which credential is connected, or why not).
 * Plain HTML, never a token; every outcome is audited.
 */
export function onboardingPages(onboarding: Onboarding, audit: AuditLog, secureCookie: boolean): FastifyPluginAsync {
  return async (app) => {
    await app.register(cookie)
    app.setErrorHandler((err, request, reply) => {
      if (err instanceof OnboardingError) {
        audit.onboarding(context(request, err.credential), 'failed', err.reason)
        return page(reply, err.status, 'Not connected', err.message)
      }
      const failure = asBrokerError(err)
      logError(request, failure)
      audit.onboarding(context(request, undefined), 'failed', failure.code)
      return page(reply, failure.status, 'Not connected', pageMessages[failure.code] ?? failure.message)
    })

    app.get<{ Params: Static<typeof LinkParams> }>('/onboarding/:link', { schema: { params: LinkParams } }, async (request, reply) => {
      const started = await onboarding.begin(request.params.link)
      audit.onboarding(context(request, started.credential), 'started')
      reply.setCookie(cookieName, started.nonce, { path: callbackPath, httpOnly: true, sameSite: 'lax', secure: secureCookie, maxAge: started.maxAgeSeconds })
      return reply.header('cache-control', 'no-store').redirect(started.redirectUrl, 302)
    })

    app.get<{ Querystring: Static<typeof CallbackQuery> }>(callbackPath, { schema: { querystring: CallbackQuery } }, async (request, reply) => {
      const { credential } = await onboarding.complete(request.query, request.cookies[cookieName])
      audit.onboarding(context(request, credential), 'completed')
      reply.clearCookie(cookieName, { path: callbackPath })
      return page(reply, 200, 'Connected', `Credential ${credential} is connected. You can close this page.`)
    })
  }
}

/** A person reads these pages: plain words instead of a validator's or a bug's text. */
const pageMessages: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'This request is not valid.',
  internal_error: 'Something went wrong. Nothing was stored.',
}

function context(request: FastifyRequest, credential: string | undefined) {
  return { requestId: request.id, principal: undefined, credential }
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lwa-broker: ${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p></body></html>`
  return reply.code(status).header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'").type('text/html; charset=utf-8').send(html)
}
