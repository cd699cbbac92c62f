import type { FastifyRequest } from 'fastify'
import { BrokerError } from '../../errors.js'

/** Headers a proxy, CDN or service mesh adds to say who the real client is. */
const proxyHeaders = new Set([
  'forwarded', 'via', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'fastly-client-ip',
  'x-client-ip', 'x-cluster-client-ip', 'x-original-forwarded-for', 'x-proxyuser-ip', 'x-appengine-user-ip',
])
/** Whole families: X-Forwarded-For/-Host/-Proto/-Port/-Prefix/…, and Envoy's (Istio) X-Envoy-*. */
const proxyHeaderPrefixes = ['x-forwarded-', 'x-envoy-']

const isProxyHeader = (name: string): boolean =>
  proxyHeaders.has(name) || proxyHeaderPrefixes.some((p) => name.startsWith(p))

/**
 * Sidecar mode: refuse anything that did not come straight from the pod over loopback, so
 * the broker cannot be used as a confused deputy through a proxy or an SSRF in the app
 * (the AWS Secrets Manager Agent guards its sidecar the same way). A plain TCP relay adds no
 * header and connects from loopback: that cannot be told apart and is out of scope (README,
 * "Threat model").
 */
export async function refuseProxiedRequests(request: FastifyRequest): Promise<void> {
  const proxied = Object.keys(request.headers).find(isProxyHeader)
  const remote = request.socket.remoteAddress ?? ''
  const loopback = remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.')
  if (proxied || !loopback) {
    throw new BrokerError('forbidden', 'sidecar mode serves only direct loopback requests', {
      logDetail: { reason: proxied ? `proxy header ${proxied}` : 'not loopback' },
    })
  }
}
