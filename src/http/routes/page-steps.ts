import type { FastifyReply, FastifyRequest } from 'fastify'

export const callbackPath = '/oauth/callback'

/** The cookie that binds a `state` to the browser that started the flow; scoped to the callback, prefix included. */
export interface BindingCookie {
  name: string
  path: string
  secure: boolean
}

export function bindingCookie(publicUrl: string): BindingCookie {
  const url = new URL(publicUrl)
  return {
    name: 'lwa_broker_onboarding',
    path: `${url.pathname.replace(/\/$/, '')}${callbackPath}`,
    secure: url.protocol === 'https:',
  }
}

/** Every flow leaves for Amazon the same way: the binding cookie set, a 303 that no cache keeps. */
export function toAmazon(
  reply: FastifyReply,
  binding: BindingCookie,
  started: { nonce: string; redirectUrl: string; maxAgeSeconds: number },
): FastifyReply {
  reply.setCookie(binding.name, started.nonce, {
    path: binding.path, httpOnly: true, sameSite: 'lax', secure: binding.secure, maxAge: started.maxAgeSeconds,
  })
  return reply.header('cache-control', 'no-store').redirect(started.redirectUrl, 303)
}

export const context = (request: FastifyRequest, credential: string | undefined) => ({
  requestId: request.id,
  principal: undefined,
  credential,
})

export const browser = (request: FastifyRequest) => {
  const agent = request.headers['user-agent']
  return { clientAddress: request.ip, userAgent: typeof agent === 'string' ? agent : undefined }
}
