import t from 'tap'
import { build } from '../../helper.js'

const sidecar = (c: Record<string, unknown>) => ({ ...c, mode: 'sidecar', listen: { host: '127.0.0.1', port: 0 } })
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }

t.test('sidecar mode serves direct loopback requests', async (t) => {
  const h = await build(t, { config: sidecar })
  t.equal((await h.getToken('ads-us', await h.jwt(platform))).statusCode, 200)
})

t.test('sidecar mode refuses anything that came through a proxy, before authentication', async (t) => {
  const h = await build(t, { config: sidecar })
  const jwt = await h.jwt(platform)
  for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'via', 'x-forwarded-host', 'x-forwarded-proto']) {
    const res = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}`, [header]: '10.1.2.3' } })
    t.equal(res.statusCode, 403, header)
    t.equal(res.json().error, 'forbidden', header)
  }
  t.equal(h.lwa.callCount(), 0)
  t.ok(h.logs.find((r) => r.reason === 'proxy header x-forwarded-for').length > 0, 'the log says why')
})

t.test('sidecar mode refuses a peer that is not on loopback', async (t) => {
  const h = await build(t, { config: sidecar })
  const res = await h.app.inject({ url: '/healthz', remoteAddress: '10.0.0.7' })
  t.equal(res.statusCode, 403)
  t.equal((await h.app.inject({ url: '/healthz', remoteAddress: '::1' })).statusCode, 200, 'IPv6 loopback is fine')
})

t.test('central mode does not care about proxy headers (it sits behind a Service)', async (t) => {
  const h = await build(t)
  const res = await h.app.inject({ url: '/token?credential=ads-us', headers: { authorization: `Bearer ${await h.jwt(platform)}`, 'x-forwarded-for': '10.1.2.3' } })
  t.equal(res.statusCode, 200)
})

t.test('sidecar mode must listen on loopback', async (t) => {
  const { parseConfig, ConfigError } = await import('../../../src/config/index.js')
  const { baseConfig } = await import('../../helper.js')
  const raw = { ...baseConfig({ tokenUrl: 'http://127.0.0.1:1/auth/o2/token' } as never, '/tmp/s.json', { keys: [{ kty: 'RSA' }] as never }), mode: 'sidecar', listen: { host: '0.0.0.0', port: 8787 } }
  t.throws(() => parseConfig(raw, '/etc/broker.yaml'), ConfigError)
  t.throws(() => parseConfig(raw, '/etc/broker.yaml'), { message: /listen\.host: must be loopback/ })
})

t.test('sidecar mode let CDN, mesh and X-Forwarded-* headers through: each is refused 403 and the log names it', async (t) => {
  const h = await build(t, { config: sidecar })
  const jwt = await h.jwt(platform)
  const headers: Array<[string, string]> = [
    ['True-Client-IP', '203.0.113.7'],
    ['CF-Connecting-IP', '203.0.113.7'],
    ['X-Envoy-External-Address', '203.0.113.7'],
    ['X-Envoy-Original-Path', '/token?credential=ads-us'],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Prefix', '/broker'],
    ['Forwarded', 'for=203.0.113.7;proto=https'],
    ['X-Client-IP', '203.0.113.7'],
  ]
  for (const [header, value] of headers) {
    const res = await h.app.inject({ url: '/token?credential=ads-us', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${jwt}`, [header]: value } })
    t.equal(res.statusCode, 403, header)
    t.equal(res.json().error, 'forbidden', header)
    const logged = h.logs.find((r) => r.reqId === res.headers['x-request-id'] && r.error === 'forbidden')
    t.match(logged, [{ reason: `proxy header ${header.toLowerCase()}` }], `${header}: the log says which header`)
  }
  t.equal(h.lwa.callCount(), 0)
  t.equal((await h.getToken('ads-us', jwt)).statusCode, 200, 'the same request without them is served')
})
