import { readFileSync, statSync } from 'node:fs'
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { IssuerConfig } from '../config/index.js'
import { isAcceptableUrl } from '../config/secure-url.js'
import { dispatcherWithCa, fetchJson, joseFetch, KeysUnavailableError, type KeyFetchOptions } from './key-fetch.js'

/** An issuer's verification keys, from wherever config says they live. */
export interface IssuerKeys {
  getKey: JWTVerifyGetKey
  /** Loads the keys now (start-up, readiness); rejects if they cannot be had. */
  warm(): Promise<void>
}

/** How often a JWKS file's modification time is looked at. */
const fileCheckIntervalMs = 1000

/**
 * Picks the key source from an issuer's `jwks` config. Misconfiguration throws at start-up.
 * `allowInsecure`: a discovered jwks_uri may be plain http:// to a non-loopback host.
 */
export function issuerKeys(config: IssuerConfig, allowInsecure = false): IssuerKeys {
  const { jwks } = config
  if (jwks.keys) return staticKeys(config, { keys: jwks.keys } as JSONWebKeySet)
  if (jwks.file) return fileKeys(config, jwks.file)
  const fetchOptions: KeyFetchOptions = { timeoutMs: jwks.timeoutMs }
  if (jwks.kubernetes) {
    const { apiServer, caFile, tokenFile } = jwks.kubernetes
    if (caFile) fetchOptions.dispatcher = dispatcherWithCa(readStartupFile(config, caFile, 'CA file'))
    if (tokenFile) fetchOptions.headers = () => ({ authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` })
    // Appended, not resolved: an API server behind a proxy path (…/k8s/clusters/c-x) keeps its path.
    return remoteKeys(config, async () => new URL(`${apiServer.replace(/\/$/, '')}/openid/v1/jwks`), fetchOptions)
  }
  if (jwks.uri) {
    const uri = new URL(jwks.uri)
    return remoteKeys(config, async () => uri, fetchOptions)
  }
  return remoteKeys(config, () => discoverJwksUri(config, fetchOptions, allowInsecure), fetchOptions)
}

function staticKeys(config: IssuerConfig, jwks: JSONWebKeySet): IssuerKeys {
  const getKey = localSet(config, jwks, 'inline JWKS')
  return { getKey, warm: async () => {} }
}

/** A mounted JWKS file: re-read when its modification time changes, so key rotation needs no restart. */
function fileKeys(config: IssuerConfig, file: string): IssuerKeys {
  const load = () => localSet(config, parseJwksFile(config, file), `JWKS file ${file}`)
  const first = load()
  let current = { mtimeMs: statSync(file).mtimeMs, getKey: first, checkedAt: Date.now() }
  const refresh = (): void => {
    if (Date.now() - current.checkedAt < fileCheckIntervalMs) return
    current.checkedAt = Date.now()
    try {
      const { mtimeMs } = statSync(file)
      if (mtimeMs !== current.mtimeMs) current = { mtimeMs, getKey: load(), checkedAt: current.checkedAt }
    } catch {
      // A file being replaced (or briefly broken) keeps the last good keys.
    }
  }
  return {
    getKey: (header, token) => {
      refresh()
      return current.getKey(header, token)
    },
    warm: async () => {},
  }
}

/**
 * A JWKS URL (given, discovered, or the Kubernetes API server's) through jose's remote set:
 * cached, refetched on an unknown `kid` at most once per cooldown, and at least every
 * cacheMaxAge. The URL is resolved once; a failed discovery is retried after the cooldown.
 */
function remoteKeys(config: IssuerConfig, locate: () => Promise<URL>, fetchOptions: KeyFetchOptions): IssuerKeys {
  const { cooldownMs } = config.jwks
  const resolveSet = remoteSetResolver(config, locate, fetchOptions)
  // jose remembers successful fetches only; a failed one is remembered here, so callers
  // claiming this issuer cannot make the broker hammer a key endpoint that is down.
  let fetchFailedAt = 0
  const guarded = async <T>(use: (set: RemoteSet) => Promise<T>): Promise<T> => {
    if (Date.now() - fetchFailedAt < cooldownMs) {
      throw new KeysUnavailableError(`keys of ${config.issuer} are unavailable (cooling down after a failed fetch)`)
    }
    try {
      return await use(await resolveSet())
    } catch (err) {
      if (err instanceof KeysUnavailableError || keyFetchFailureCodes.has((err as { code?: string }).code ?? '')) {
        fetchFailedAt = Date.now()
      }
      throw err
    }
  }
  return {
    getKey: (header, token) => guarded((set) => set(header, token)),
    // The readiness timer too waits out the cooldown: an issuer that is down is asked once per cooldown, whoever
    // asks.
    warm: () => guarded(async (set) => {
      await set.reload()
    }),
  }
}

type RemoteSet = ReturnType<typeof createRemoteJWKSet>

function remoteSetResolver(
  config: IssuerConfig,
  locate: () => Promise<URL>,
  fetchOptions: KeyFetchOptions,
): () => Promise<RemoteSet> {
  const { cooldownMs, cacheMaxAgeMs, timeoutMs } = config.jwks
  let set: Promise<RemoteSet> | undefined
  let failedAt = 0
  return (): Promise<RemoteSet> => {
    if (!set && Date.now() - failedAt < cooldownMs) {
      throw new KeysUnavailableError(`keys of ${config.issuer} are unavailable (cooling down)`)
    }
    set ??= locate().then(
      (url) => createRemoteJWKSet(url, {
        timeoutDuration: timeoutMs,
        cooldownDuration: cooldownMs,
        cacheMaxAge: cacheMaxAgeMs,
        [customFetch]: joseFetch(fetchOptions),
      }),
      (err: unknown) => {
        set = undefined
        failedAt = Date.now()
        throw err
      },
    )
    return set
  }
}

/** jose's codes for a key set that could not be fetched or read. */
export const keyFetchFailureCodes = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID'])

/** OIDC discovery: the document must name this very issuer (OpenID Connect Discovery §4.3). */
async function discoverJwksUri(
  config: IssuerConfig,
  fetchOptions: KeyFetchOptions,
  allowInsecure: boolean,
): Promise<URL> {
  const url = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
  const doc = await fetchJson(url, fetchOptions) as { issuer?: unknown; jwks_uri?: unknown }
  if (doc.issuer !== config.issuer) throw new KeysUnavailableError(`${url} names another issuer`)
  if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) {
    throw new KeysUnavailableError(`${url} has no usable jwks_uri`)
  }
  if (!isAcceptableUrl(doc.jwks_uri, allowInsecure)) {
    throw new KeysUnavailableError(`${url} names a plain http:// jwks_uri on a host that is not loopback`)
  }
  return new URL(doc.jwks_uri)
}

/** JWK members that only private (or symmetric) keys have: such a key does not belong in a verifier's config. */
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

function localSet(config: IssuerConfig, jwks: JSONWebKeySet, source: string): JWTVerifyGetKey {
  const fail = (why: string): never => {
    throw new TypeError(`issuer ${config.issuer}: cannot use ${source}: ${why}`)
  }
  if (Array.isArray(jwks?.keys) && jwks.keys.some((k) => privateMembers.some((m) => m in k))) {
    fail('it holds a private or symmetric key; give the broker public keys only')
  }
  try {
    return createLocalJWKSet(jwks)
  } catch (err) {
    return fail((err as Error).message)
  }
}

function parseJwksFile(config: IssuerConfig, file: string): JSONWebKeySet {
  const text = readStartupFile(config, file, 'JWKS file')
  try {
    return JSON.parse(text) as JSONWebKeySet
  } catch {
    throw new TypeError(`issuer ${config.issuer}: cannot use JWKS file ${file}: it is not valid JSON`)
  }
}

function readStartupFile(config: IssuerConfig, file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new TypeError(`issuer ${config.issuer}: cannot use ${what} ${file}: ${(err as Error).message}`)
  }
}
