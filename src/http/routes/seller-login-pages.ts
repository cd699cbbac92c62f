import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AuditLog } from '../../observability/audit.js'
import { OnboardingError } from '../../onboarding/failures.js'
import type { LoginStarted, SellerLogin } from '../../onboarding/seller-login.js'
import { presentLinkSchema, sellerLoginSchema } from '../contract/seller-login.js'
import { page } from '../pages.js'
import { httpStatus } from '../status.js'
import { browser, context, toAmazon, type BindingCookie } from './page-steps.js'

/**
 * The app's OAuth Login URI (`/oauth/login`): Seller Central sends sellers here from the
 * Appstore and for the yearly re-authorization. GET continues at once when it can; a new seller
 * without self-service gets a page asking for an admin's link, which POSTs back here.
 */
export function registerLoginPages(
  app: FastifyInstance,
  login: SellerLogin,
  audit: AuditLog,
  binding: BindingCookie,
): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  const leave = (request: FastifyRequest, reply: FastifyReply, started: LoginStarted): FastifyReply => {
    const { credential, account, flow } = started
    audit.onboarding(context(request, credential), 'started', { ...browser(request), account, flow })
    return toAmazon(reply, binding, started)
  }

  typed.get('/oauth/login', { schema: sellerLoginSchema }, async (request, reply) => {
    try {
      return leave(request, reply, await login.start(request.query))
    } catch (err) {
      if (!(err instanceof OnboardingError && err.code === 'seller_unknown')) throw err
      const detail = { ...browser(request), reason: err.code, account: err.account }
      audit.onboarding(context(request, undefined), 'failed', detail)
      return page(reply, httpStatus[err.code], 'Connect your selling account', err.message, {
        input: { name: 'link', label: 'Onboarding link' }, button: 'Continue to Amazon',
      })
    }
  })

  typed.post('/oauth/login', { schema: presentLinkSchema }, async (request, reply) =>
    leave(request, reply, await login.withLink(request.query, request.body.link)))
}
