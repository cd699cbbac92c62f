import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { resourceSet, type IssuedRdt } from '../../rdt/index.js'
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
    const [head, tail] = answerOf(rdt)
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8')
      .send(`${head}${secondsLeft(services.clock, rdt.expiresAtMs)}${tail}`)
  })
}

/** An RDT's answers differ only in `expires_in`: its JSON is made once, around that number. */
const answers = new WeakMap<IssuedRdt, [string, string]>()

function answerOf(rdt: IssuedRdt): [string, string] {
  let answer = answers.get(rdt)
  if (!answer) {
    const body: Omit<RdtResponse, 'expires_in'> & { expires_in: string } = {
      restricted_data_token: rdt.restrictedDataToken,
      expires_in: ttlMark,
      expires_at: rdt.expiresAt,
      credential: rdt.credential,
      region: rdt.region,
      headers: rdt.headers,
    }
    const [head = '', tail = ''] = JSON.stringify(body).split(`"${ttlMark}"`)
    answers.set(rdt, (answer = [head, tail]))
  }
  return answer
}

/** A private-use character no RDT, name or date holds. */
const ttlMark = '\uE000ttl\uE000'
