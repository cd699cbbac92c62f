// POST /auth/o2/token as LWA clients send it (form) or as several SDKs do (JSON), and the
// scans the compat tests share: the audit lines a request left and a token counter's value.
import type { LightMyRequestResponse } from 'fastify'
import type { Harness } from '../helper.js'

export async function postToken(
  h: Harness,
  body: string | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const form = typeof body === 'string'
  return h.app.inject({
    method: 'POST',
    url: '/auth/o2/token',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded;charset=UTF-8' : 'application/json', ...headers },
    payload: form ? body : JSON.stringify(body),
  })
}

export const formOf = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()

/** The audit lines written for the request that got `res`. */
export function auditOf(h: Harness, res: LightMyRequestResponse): Array<Record<string, unknown>> {
  return h.logs.find((r) => r.log === 'audit' && r.requestId === res.headers['x-request-id'])
}

/** `lwa_broker_tokens_issued_total` for one credential label and outcome (0 when absent). */
export async function tokenOutcomes(h: Harness, credential: string, outcome: string): Promise<number> {
  const text = (await h.ops.inject('/metrics')).body
  const line = text.split('\n').find((l) => l.startsWith(
    `lwa_broker_tokens_issued_total{credential="${credential}",outcome="${outcome}"} `))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}
