import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import type { FastifyInstance } from 'fastify'
import { build, type BuildOptions } from '../helper.js'

type Test = Parameters<typeof build>[0]

/**
 * Well above the 1 s timeouts configured here (Node looks once a second, so up to 2 s), and
 * far below what an unbounded listener gives: a stalled body is never cut off, stalled
 * headers only after Node's 60 s default. The test asserts that the socket closed, not how fast.
 */
const closeBoundMs = 10_000
const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const withHttp = (http: Record<string, unknown>): BuildOptions['config'] => (c) => ({ ...c, http })

/** A raw TCP client: what it was sent, and whether the server has closed the connection. */
interface RawClient {
  socket: Socket
  received(): string
  /** Resolves true when the server closed the socket, false if it is still open after `ms`. */
  closedWithin(ms: number): Promise<boolean>
}

async function rawClient(t: Test, port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => void socket.destroy())
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { text += chunk })
  // A reset after a refused connection is a close too; the test looks at what was answered.
  socket.on('error', () => {})
  const closed = once(socket, 'close').then(() => true)
  await once(socket, 'connect')
  return {
    socket,
    received: () => text,
    closedWithin: (ms) => {
      let timer: NodeJS.Timeout | undefined
      const open = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
      return Promise.race([closed, open]).finally(() => clearTimeout(timer))
    },
  }
}

async function listen(app: FastifyInstance): Promise<number> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return Number(new URL(address).port)
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parseAnswer(raw: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head = '', body = ''] = raw.split('\r\n\r\n', 2)
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1])
  return { status, headers: head.toLowerCase(), body: body === '' ? {} : JSON.parse(body) as Record<string, unknown> }
}

const stalledTokenRequest = 'POST /auth/o2/token HTTP/1.1\r\nHost: broker\r\n'
  + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=refr'

t.test('stalled request bodies are never timed out: a body that stops arriving is answered 408 request_timeout and closed, while other callers are served', async (t) => {
  const h = await build(t, { config: withHttp({ requestTimeoutSeconds: 1, headersTimeoutSeconds: 1 }) })
  const port = await listen(h.app)
  const stalled = await rawClient(t, port)
  stalled.socket.write(stalledTokenRequest)

  const res = await request(`http://127.0.0.1:${port}/token?credential=ads-us`, { headers: { authorization: `Bearer ${await h.jwt(platform)}` } })
  t.equal(res.statusCode, 200, 'a normal caller is served while the body stalls')
  t.match(await res.body.json(), { access_token: /^Atza\|/ })

  t.ok(await stalled.closedWithin(closeBoundMs), 'the server closed the stalled connection')
  const answer = parseAnswer(stalled.received())
  t.equal(answer.status, 408)
  t.match(answer.headers, /content-type: application\/json/)
  t.match(answer.headers, /connection: close/)
  t.same(Object.keys(answer.body).sort(), ['error', 'message', 'request_id'], 'the broker\'s error shape, not Fastify\'s')
  t.match(answer.body, { error: 'request_timeout', request_id: /^[0-9a-f-]{36}$/ })
  t.equal(h.lwa.callCount(), 1, 'only the normal caller reached LWA')
})

t.test('stalled request bodies are never timed out: a client that sends half its headers and stalls is closed', async (t) => {
  const h = await build(t, { config: withHttp({ requestTimeoutSeconds: 1, headersTimeoutSeconds: 1 }) })
  const port = await listen(h.app)
  const stalled = await rawClient(t, port)
  stalled.socket.write('GET /token?credential=ads-us HTTP/1.1\r\nHost: broker\r\nAuthoriza')
  t.ok(await stalled.closedWithin(closeBoundMs), 'the server closed the connection')
  const answer = parseAnswer(stalled.received())
  t.equal(answer.status, 408)
  t.match(answer.body, { error: 'request_timeout', request_id: /^[0-9a-f-]{36}$/ })
})

t.test('stalled request bodies are never timed out: the ops listener has the same limits', async (t) => {
  const h = await build(t, { config: withHttp({ requestTimeoutSeconds: 1, headersTimeoutSeconds: 1 }) })
  const port = await listen(h.ops)
  const stalled = await rawClient(t, port)
  stalled.socket.write('GET /metrics HTTP/1.1\r\nHost: ops\r\nAcc')
  t.ok(await stalled.closedWithin(closeBoundMs), 'the ops listener closed the connection')
  t.match(parseAnswer(stalled.received()), { status: 408, body: { error: 'request_timeout' } })
  const scrape = await request(`http://127.0.0.1:${port}/metrics`)
  t.equal(scrape.statusCode, 200, 'a scraper is still served')
  await scrape.body.text()
})

t.test('stalled request bodies are never timed out: with http.maxConnections 2 a third connection is closed at once, the first two stay usable', async (t) => {
  // The default headers timeout (10 s) is beyond the wait below: only the connection limit can close the third.
  const h = await build(t, { config: withHttp({ maxConnections: 2 }) })
  const port = await listen(h.app)
  const healthz = 'GET /healthz HTTP/1.1\r\nHost: broker\r\n\r\n'
  const served = async (client: RawClient, name: string): Promise<void> => {
    const before = client.received().length
    client.socket.write(healthz)
    for (let i = 0; i < 200 && !client.received().slice(before).includes('"status":"ok"'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    t.match(parseAnswer(client.received().slice(before)), { status: 200, body: { status: 'ok' } }, `${name} is served`)
  }
  const first = await rawClient(t, port)
  const second = await rawClient(t, port)
  // Answered, so the server has counted both before the third arrives.
  await served(first, 'the first connection')
  await served(second, 'the second connection')

  const third = await rawClient(t, port)
  t.ok(await third.closedWithin(5000), 'the third connection is closed by the server')
  t.equal(third.received(), '', 'unanswered')

  await served(first, 'the first connection, again')
  await served(second, 'the second connection, again')
  t.notOk(await first.closedWithin(0), 'the first connection is still open')
})

t.test('stalled request bodies are never timed out: a request that is not HTTP is answered 400 invalid_request in the broker\'s shape', async (t) => {
  const h = await build(t)
  const port = await listen(h.app)
  const client = await rawClient(t, port)
  client.socket.write('\x16\x03\x01\x02\x00 hello, this is not HTTP\r\n\r\n')
  t.ok(await client.closedWithin(closeBoundMs), 'the server closed the connection')
  const answer = parseAnswer(client.received())
  t.equal(answer.status, 400)
  t.match(answer.headers, /content-type: application\/json/)
  t.same(Object.keys(answer.body).sort(), ['error', 'message', 'request_id'])
  t.match(answer.body, { error: 'invalid_request', request_id: /^[0-9a-f-]{36}$/ })
})
