import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { resourceSet } from '../../rdt/index.js'
import type { Services } from '../../services.js'
import type { RdtResponse } from '../contract/rdt.js'
import { rdtSchema } from '../contract/rdt.js'
import { secondsLeft, tokenRequest } from './token.js'

export const rdtPath = '/restricted-data-token'

/** POST /restricted-data-token: a Restricted Data Token, through the same exchange as every token. */
export function registerRdtRoute(app: FastifyInstance, services: Services): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(rdtPath, { schema: rdtSchema }, async (request, reply) => {
    const { credential, restrictedResources, targetApplication, min_ttl: minTtl } = request.body
    const minTtlSeconds = minTtl ?? services.config.spApi.restrictedDataTokens.defaultMinTtlSeconds
    const set = resourceSet(restrictedResources, targetApplication)
    const rdt = await services.exchange.issueRestricted(tokenRequest(request, credential, minTtlSeconds), set)
    const body: RdtResponse = {
      restricted_data_token: rdt.restrictedDataToken,
      expires_in: secondsLeft(services.clock, rdt.expiresAtMs),
      expires_at: rdt.expiresAt,
      credential: rdt.credential,
      region: rdt.region,
      headers: rdt.headers,
    }
    return reply.header('cache-control', 'no-store').send(body)
  })
}
