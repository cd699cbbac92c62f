import type { FastifyRequest } from 'fastify'
import { BrokerError } from '../errors.js'

/** Headers a proxy adds. A sidecar serves only its own pod, directly over loopback. */
const proxyHeaders = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-real-ip', 'via']

/**
 * Sidecar mode: refuse anything that did not come straight from the pod over loopback, so
 * the broker cannot be used as a confused deputy through a proxy or an SSRF in the app
 * (the AWS Secrets Manager Agent guards its sidecar the same way).
 */
export async function refuseProxiedRequests(request: FastifyRequest): Promise<void> {
  const proxied = proxyHeaders.find((h) => request.headers[h] !== undefined)
  const remote = request.socket.remoteAddress ?? ''
  const loopback = remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.')
  if (proxied || !loopback) {
    throw new BrokerError('forbidden', 'sidecar mode serves only direct loopback requests', { logDetail: { reason: proxied ? `proxy header ${proxied}` : 'not loopback' } })
  }
}
