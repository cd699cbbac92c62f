import { readFile } from 'node:fs/promises'
import { BrokerClientError } from './errors.js'
import { withRetries, type RetrySettings } from './retry.js'

export { BrokerClientError } from './errors.js'

/**
 * The caller's side of lwa-broker, with no dependency beyond Node's own `fetch`: tokens and
 * Restricted Data Tokens cached until `minTtlSeconds` is left, one broker request however many
 * callers ask at once (unless one needs a longer `minTtlSeconds` than the request under way asked
 * for), retries of 429/503 and an unreachable broker (a restart) with jittered backoff that
 * honours `Retry-After`. It logs nothing; an error never carries a token.
 */
export interface BrokerClientOptions {
  /** The broker's caller listener, e.g. `http://127.0.0.1:8787`. */
  url: string
  /** The caller's JWT: a file read each time one is needed (the kubelet rotates projected tokens), or a function. */
  jwt: { file: string } | (() => string | Promise<string>)
  /** Seconds a token must have left to be reused (default 60). */
  minTtlSeconds?: number
  /** Retries after the first attempt (default 4), from `baseDelayMs` (200) doubling to `maxDelayMs` (5000). */
  retries?: number
  baseDelayMs?: number
  maxDelayMs?: number
  fetch?: typeof globalThis.fetch
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** Told of each retry (the code and the delay: never a token). */
  onRetry?: RetrySettings['onRetry']
}

export interface RestrictedResource { method: string; path: string; dataElements?: string[] }

/** What the Amazon API call needs: the token and the headers to send it with. */
export interface BrokerToken {
  token: string
  expiresAtMs: number
  headers: Readonly<Record<string, string>>
}

export type TokenTarget =
  | { credential: string; profile?: string; minTtlSeconds?: number }
  | { credential: string; restrictedResources: RestrictedResource[]; targetApplication?: string;
    minTtlSeconds?: number }

interface Answer { status: number; body: Record<string, unknown> }
/** One broker request under way for a cache key, and the min_ttl it asked for. */
interface Flight { minTtlSeconds: number; token: Promise<BrokerToken> }

export class BrokerClient {
  private readonly cache = new Map<string, BrokerToken>()
  private readonly flights = new Map<string, Flight>()
  private readonly retry: RetrySettings
  private readonly fetchImpl: typeof globalThis.fetch
  private readonly now: () => number

  constructor(private readonly options: BrokerClientOptions) {
    this.fetchImpl = options.fetch ?? globalThis.fetch
    this.now = options.now ?? Date.now
    this.retry = {
      retries: options.retries ?? 4, baseDelayMs: options.baseDelayMs ?? 200, maxDelayMs: options.maxDelayMs ?? 5000,
      random: options.random ?? Math.random, onRetry: options.onRetry,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    }
  }

  /** An access token (an Ads `profile` sets its scope header). */
  getToken(target: { credential: string; profile?: string; minTtlSeconds?: number }): Promise<BrokerToken> {
    const query = new URLSearchParams({ credential: target.credential, min_ttl: String(this.minTtl(target)) })
    if (target.profile !== undefined) query.set('profile', target.profile)
    return this.cached(`token\n${target.credential}\n${target.profile ?? ''}`, this.minTtl(target),
      () => this.ask('GET', `/token?${query}`, undefined, 'access_token'))
  }

  /**
   * A Restricted Data Token for these resources; the same set in another order is the same token. One resource
   * goes as the GET form (no body for the broker to parse), several by POST.
   */
  restrictedDataToken(target: Extract<TokenTarget, { restrictedResources: unknown }>): Promise<BrokerToken> {
    const resources = canonical(target.restrictedResources)
    const key = `rdt\n${target.credential}\n${target.targetApplication ?? ''}\n${JSON.stringify(resources)}`
    const [only, ...more] = resources
    if (only && more.length === 0) {
      const { dataElements, ...resource } = only
      const query = new URLSearchParams({ credential: target.credential, ...resource })
      query.set('min_ttl', String(this.minTtl(target)))
      if (dataElements) query.set('dataElements', dataElements.join(','))
      if (target.targetApplication !== undefined) query.set('targetApplication', target.targetApplication)
      return this.cached(key, this.minTtl(target),
        () => this.ask('GET', `/restricted-data-token?${query}`, undefined, 'restricted_data_token'))
    }
    const { credential, targetApplication } = target
    const body = {
      credential, restrictedResources: resources, min_ttl: this.minTtl(target),
      ...(targetApplication === undefined ? {} : { targetApplication }),
    }
    return this.cached(key, this.minTtl(target),
      () => this.ask('POST', '/restricted-data-token', JSON.stringify(body), 'restricted_data_token'))
  }

  /** `fetch` with the target's token headers added; a header the caller set itself wins. */
  async fetch(input: string | URL, init: RequestInit, target: TokenTarget): Promise<Response> {
    const token = 'restrictedResources' in target ? await this.restrictedDataToken(target) : await this.getToken(target)
    const headers = new Headers(token.headers)
    new Headers(init.headers).forEach((value, name) => headers.set(name, value))
    return this.fetchImpl(input, { ...init, headers })
  }

  private minTtl(target: { minTtlSeconds?: number }): number {
    return target.minTtlSeconds ?? this.options.minTtlSeconds ?? 60
  }

  private cached(key: string, minTtlSeconds: number, obtain: () => Promise<BrokerToken>): Promise<BrokerToken> {
    const hit = this.cache.get(key)
    if (hit && hit.expiresAtMs - this.now() >= minTtlSeconds * 1000) return Promise.resolve(hit)
    // A flight that asked the broker for a shorter min_ttl may bring a token too short for this caller.
    const joined = this.flights.get(key)
    if (joined && joined.minTtlSeconds >= minTtlSeconds) return joined.token
    const flight: Flight = {
      minTtlSeconds,
      token: withRetries(this.retry, obtain).then((token) => {
        this.cache.set(key, token)
        return token
      }).finally(() => {
        // A caller asking for more may have started the key's flight since: that one stays to be joined.
        if (this.flights.get(key) === flight) this.flights.delete(key)
      }),
    }
    this.flights.set(key, flight)
    return flight.token
  }

  private async ask(method: string, path: string, body: string | undefined, field: string): Promise<BrokerToken> {
    const { status, body: answer } = await this.send(method, path, body)
    const token = answer[field]
    const expiresIn = answer.expires_in
    if (status !== 200 || typeof token !== 'string' || typeof expiresIn !== 'number') {
      throw new BrokerClientError('invalid_answer', status, `the broker answered ${status} without a token`)
    }
    return {
      token, expiresAtMs: this.now() + expiresIn * 1000, headers: answer.headers as Record<string, string>,
    }
  }

  private async send(method: string, path: string, body: string | undefined): Promise<Answer> {
    const jwt = await this.jwt()
    let response: Response
    try {
      response = await this.fetchImpl(new URL(path, this.options.url), {
        method, body: body ?? null,
        headers: { authorization: `Bearer ${jwt}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      })
    } catch {
      throw new BrokerClientError('unreachable', 0, `the broker at ${this.options.url} could not be reached`)
    }
    const text = await response.text()
    const parsed = parseObject(text)
    if (response.ok) return { status: response.status, body: parsed }
    const retryAfter = Number(response.headers.get('retry-after'))
    throw new BrokerClientError(
      typeof parsed.error === 'string' ? parsed.error : `http_${response.status}`, response.status,
      typeof parsed.message === 'string' ? parsed.message : `the broker answered ${response.status}`,
      typeof parsed.request_id === 'string' ? parsed.request_id : undefined,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    )
  }

  private async jwt(): Promise<string> {
    const source = this.options.jwt
    return typeof source === 'function' ? source() : (await readFile(source.file, 'utf8')).trim()
  }
}

/** The broker's canonical order, so one set is one cache entry here too. */
function canonical(resources: readonly RestrictedResource[]): RestrictedResource[] {
  const byText = new Map<string, RestrictedResource>()
  for (const r of resources) {
    const dataElements = r.dataElements && [...new Set(r.dataElements)].sort()
    const resource = { method: r.method.toUpperCase(), path: r.path, ...(dataElements ? { dataElements } : {}) }
    byText.set(JSON.stringify(resource), resource)
  }
  return [...byText.keys()].sort().map((text) => byText.get(text) as RestrictedResource)
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' ? value as Record<string, unknown> : {}
  } catch {
    return {}
  }
}
