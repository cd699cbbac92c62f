import { Agent, request } from 'undici'
import { CliFailure } from './io.js'

/** Longer than the broker's default request deadline (10 s), so the broker's own 503 is what the user sees. */
export const brokerTimeoutMs = 15_000

export interface BrokerAnswer {
  status: number
  /** The parsed JSON body, or undefined when the body is not JSON (e.g. a proxy's error page). */
  body: unknown
  contentType: string | undefined
  requestId: string | undefined
  retryAfter: string | undefined
}

/** Why a connection failed, by error `code` (never by message text). */
const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the broker running and listening there?)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed before an answer',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: `no answer within ${brokerTimeoutMs / 1000} s`,
  UND_ERR_BODY_TIMEOUT: `no complete answer within ${brokerTimeoutMs / 1000} s`,
}

/** One GET on the broker with the caller's JWT; a network failure becomes a CliFailure naming the URL. */
export async function brokerGet(url: URL, jwt: string): Promise<BrokerAnswer> {
  // Its own agent, closed afterwards: no keep-alive socket holds the process open.
  const dispatcher = new Agent({ connect: { timeout: brokerTimeoutMs } })
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${jwt}`, accept: 'application/json' },
      dispatcher,
      headersTimeout: brokerTimeoutMs,
      bodyTimeout: brokerTimeoutMs,
    })
    const text = await res.body.text()
    return {
      status: res.statusCode,
      body: parseJson(text),
      contentType: header(res.headers['content-type']),
      requestId: header(res.headers['x-request-id']),
      retryAfter: header(res.headers['retry-after']),
    }
  } catch (err) {
    const code = errorCode(err)
    const reason = (code && reasons[code]) ?? (err instanceof Error ? err.message : String(err))
    // origin + path only: a query or user:password in the URL stays out of the message.
    throw new CliFailure(
      `cannot reach the broker at ${url.origin}${url.pathname}: ${reason}${code ? ` (${code})` : ''}`,
    )
  } finally {
    await dispatcher.close()
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value)

/** Node reports a failed connection to every address of a host as an AggregateError; its parts carry the code. */
function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: { code?: unknown }[]; cause?: { code?: unknown } }
  const code = e.code ?? e.errors?.[0]?.code ?? e.cause?.code
  return typeof code === 'string' ? code : undefined
}
