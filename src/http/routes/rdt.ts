import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { oneResourceSet, resourceSet, type IssuedRdt, type ResourceSet } from '../../rdt/index.js'
import type { Services } from '../../services.js'
import type { RdtResponse } from '../contract/rdt.js'
import { rdtGetSchema, rdtSchema } from '../contract/rdt.js'
import { secondsLeft, tokenRequest } from './token.js'

export const rdtPath = '/restricted-data-token'

/**
 * POST /restricted-data-token, and its GET form for one resource (no body to parse): a Restricted Data Token,
 * through the same exchange as every token.
 */
export function registerRdtRoute(app: FastifyInstance, services: Services): void {
  const { exchange, clock, config } = services
  const answer = (reply: FastifyReply, rdt: IssuedRdt): FastifyReply => {
    const [head, tail] = answerOf(rdt)
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8')
      .send(`${head}${secondsLeft(clock, rdt.expiresAtMs)}${tail}`)
  }
  const issue = (request: FastifyRequest, reply: FastifyReply, credential: string, set: ResourceSet,
    minTtl: number | undefined): Promise<FastifyReply> | undefined => {
    const minTtlSeconds = minTtl ?? config.spApi.restrictedDataTokens.defaultMinTtlSeconds
    const exchangeRequest = tokenRequest(request, credential, minTtlSeconds)
    // A cached RDT is answered in this turn, as GET /token answers a cached token.
    const cached = exchange.issueRestrictedCached(exchangeRequest, set)
    if (cached) {
      answer(reply, cached)
      return undefined
    }
    return exchange.issueRestricted(exchangeRequest, set).then((rdt) => answer(reply, rdt))
  }
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  typed.post(rdtPath, { schema: rdtSchema }, (request, reply) => {
    const { credential, restrictedResources, targetApplication, min_ttl: minTtl } = request.body
    return issue(request, reply, credential, resourceSet(restrictedResources, targetApplication), minTtl)
  })
  typed.get(rdtPath, { schema: rdtGetSchema }, (request, reply) => {
    const { credential, method, path, dataElements, targetApplication, min_ttl: minTtl } = request.query
    return issue(request, reply, credential, oneResourceSet(method, path, dataElements, targetApplication), minTtl)
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
