import { Agent, request, type Dispatcher } from 'undici'

/** JWKS and discovery documents are a few KiB; a bigger answer is refused unread. */
export const maxKeyDocumentBytes = 256 * 1024

export interface KeyFetchOptions {
  timeoutMs: number
  /** Extra request headers, computed per fetch (a Kubernetes bearer token is re-read each time). */
  headers?: () => Record<string, string>
  dispatcher?: Dispatcher
}

/** The issuer's keys could not be fetched: the caller is not at fault, the broker cannot judge. */
export class KeysUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KeysUnavailableError'
  }
}

/** GETs a JSON document with a timeout and a size cap; no redirects are followed. */
export async function fetchKeyDocument(
  url: string,
  options: KeyFetchOptions,
): Promise<{ status: number; body: Uint8Array }> {
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...options.headers?.() },
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxKeyDocumentBytes) {
        res.body.destroy()
        throw new KeysUnavailableError(`${url} answered more than ${maxKeyDocumentBytes} bytes`)
      }
      chunks.push(chunk)
    }
    return { status: res.statusCode, body: Buffer.concat(chunks) }
  } catch (err) {
    if (err instanceof KeysUnavailableError) throw err
    throw new KeysUnavailableError(`cannot fetch ${url}: ${describeFailure(err)}`, { cause: err })
  }
}

export async function fetchJson(url: string, options: KeyFetchOptions): Promise<unknown> {
  const { status, body } = await fetchKeyDocument(url, options)
  if (status !== 200) throw new KeysUnavailableError(`${url} answered HTTP ${status}`)
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'))
  } catch {
    throw new KeysUnavailableError(`${url} did not answer JSON`)
  }
}

/**
 * jose's `customFetch` for remote key sets: the same timeout, size cap, headers and TLS
 * settings as every other key fetch, answered as a WHATWG Response for jose to read.
 */
export function joseFetch(options: KeyFetchOptions) {
  return async (url: string): Promise<Response> => {
    const json = await fetchJson(url, options)
    return new Response(JSON.stringify(json), { status: 200, headers: { 'content-type': 'application/json' } })
  }
}

/** A dispatcher trusting a private CA (a Kubernetes API server's). */
export function dispatcherWithCa(ca: string): Dispatcher {
  return new Agent({ connect: { ca } })
}

/** Enough to act on (an untrusted certificate, a missing token file, a refused connection), without echoing a body. */
function describeFailure(err: unknown): string {
  const e = err as { name?: string; code?: unknown; cause?: { code?: unknown } }
  // DOMExceptions (a timeout) have a numeric legacy code: only string codes (ECONNREFUSED, …) say anything.
  const code = [e.code, e.cause?.code].find((c): c is string => typeof c === 'string')
  return [e.name ?? 'Error', code].filter(Boolean).join(' ')
}
