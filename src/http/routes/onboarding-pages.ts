import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorCode } from '../../errors.js'
import type { AuditLog } from '../../observability/audit.js'
import { OnboardingError } from '../../onboarding/failures.js'
import type { Onboarding } from '../../onboarding/onboarding.js'
import { beginSchema, callbackSchema, openLinkSchema } from '../contract/onboarding.js'
import { asBrokerError, logError } from '../error-reply.js'
import { page } from '../pages.js'
import { bindingCookie, browser, callbackPath, context, toAmazon, type BindingCookie } from './page-steps.js'
import { registerLoginPages } from './seller-login-pages.js'
import { httpStatus } from '../status.js'


export interface OnboardingPagesOptions {
  /** The broker's public URL: the cookie is scoped to its callback path, prefix included. */
  publicUrl: string
  /** Page requests per client address per window. */
  rateLimit: { max: number; timeWindowSeconds: number }
}


/**
 * The pages a browser sees: the one-time link (a page whose button continues, so a mail
 * scanner fetching the link does not use it up), the step that sets the browser-binding
 * cookie and sends it to Amazon, and the callback (which account is connected, or why not).
 * Plain HTML, never a token; every outcome is audited; rate-limited per address.
 */
export function onboardingPages(
  onboarding: Onboarding,
  audit: AuditLog,
  options: OnboardingPagesOptions,
): FastifyPluginAsync {
  const binding = bindingCookie(options.publicUrl)
  return async (app) => {
    await installPagePlugins(app, audit, options)
    registerLinkPages(app, onboarding, audit, binding)
    registerLoginPages(app, onboarding.login, audit, binding)
    registerCallbackPage(app, onboarding, audit, binding)
  }
}

async function installPagePlugins(
  app: FastifyInstance,
  audit: AuditLog,
  options: OnboardingPagesOptions,
): Promise<void> {
  await app.register(cookie)
  // The page's button posts an empty form.
  await app.register(formbody, { bodyLimit: 1024 })
  await app.register(rateLimit, {
    max: options.rateLimit.max,
    timeWindow: options.rateLimit.timeWindowSeconds * 1000,
    errorResponseBuilder: () =>
      new OnboardingError('too_many_requests', 'Too many requests from this address. Wait a minute and try again.'),
  })
  app.setErrorHandler((err, request, reply) => failed(request, reply, audit, err))
}

function registerLinkPages(
  app: FastifyInstance,
  onboarding: Onboarding,
  audit: AuditLog,
  binding: BindingCookie,
): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  typed.get('/onboarding/:link', { schema: openLinkSchema }, async (request, reply) => {
    const { credential } = await onboarding.inspect(request.params.link)
    return page(
      reply,
      200,
      'Connect an Amazon account',
      `You are about to connect an Amazon account to credential ${credential}.`,
      { button: 'Continue to Amazon' },
    )
  })

  typed.post('/onboarding/:link', { schema: beginSchema }, async (request, reply) => {
    const started = await onboarding.begin(request.params.link)
    audit.onboarding(context(request, started.credential), 'started', browser(request))
    return toAmazon(reply, binding, started)
  })
}

function registerCallbackPage(
  app: FastifyInstance,
  onboarding: Onboarding,
  audit: AuditLog,
  binding: BindingCookie,
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(callbackPath, { schema: callbackSchema }, async (request, reply) => {
    const { credential, account } = await onboarding.complete(request.query, request.cookies[binding.name])
    audit.onboarding(context(request, credential), 'completed', { ...browser(request), account })
    reply.clearCookie(binding.name, { path: binding.path })
    const which = account
      ? `Amazon account ${account}`
      : 'the Amazon account (no advertising account was found for it yet)'
    return page(reply, 200, 'Connected', `Credential ${credential} is connected to ${which}. You can close this page.`)
  })
}

/** Every refusal is a page with its own status and words, and an audit line saying why. */
function failed(request: FastifyRequest, reply: FastifyReply, audit: AuditLog, err: unknown): FastifyReply {
  if (err instanceof OnboardingError) {
    audit.onboarding(context(request, err.credential), 'failed', {
      ...browser(request),
      reason: err.code,
      account: err.account,
    })
    return page(reply, httpStatus[err.code], 'Not connected', err.message)
  }
  const failure = asBrokerError(err)
  logError(request, failure)
  audit.onboarding(context(request, undefined), 'failed', { ...browser(request), reason: failure.code })
  return page(reply, httpStatus[failure.code], 'Not connected', pageMessages[failure.code] ?? failure.message)
}

/** A person reads these pages: plain words instead of a validator's or a bug's text. */
const pageMessages: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'This request is not valid.',
  internal_error: 'Something went wrong. Nothing was stored.',
}
