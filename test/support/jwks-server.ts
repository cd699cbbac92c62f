// A loopback OIDC issuer: discovery document, JWKS, and the Kubernetes API server's
// /openid/v1/jwks, over HTTP or HTTPS. A real peer, so the broker's fetch timeouts, size caps,
// TLS trust and bearer-token handling are exercised exactly as in production.
import { randomUUID } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export const discoveryPath = '/.well-known/openid-configuration'
export const keysPath = '/keys'
export const kubernetesKeysPath = '/openid/v1/jwks'

/** What to answer instead of the real document. */
export type JwksFault =
  | { kind: 'status'; status: number }
  | { kind: 'slow'; ms: number } // the real answer, ms later
  | { kind: 'oversized'; bytes: number } // the real document, padded to about this many bytes: only a size cap refuses it
  | { kind: 'non-json' }

export type SigningAlg = 'RS256' | 'ES256'

export interface SigningKey {
  kid: string
  alg: SigningAlg
  privateKey: CryptoKey
  publicJwk: JWK
}

export interface JwksServerOptions {
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string; key: string }
  /** The `issuer` the discovery document names; defaults to the server's own base URL. */
  issuer?: string
  /** When set, /openid/v1/jwks answers 401 unless `Authorization: Bearer <this>` is sent. */
  bearerToken?: string
  /** The algorithm of the first key (default RS256). */
  alg?: SigningAlg
}

/** A key pair with a fresh kid, its public half as a JWK ready to publish. */
export async function newSigningKey(alg: SigningAlg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

export class JwksServer {
  readonly url: string
  /** The `issuer` in the discovery document. */
  issuer: string
  /** The `jwks_uri` in the discovery document. */
  jwksUri: string
  /** The bearer token /openid/v1/jwks insists on (undefined: anonymous discovery allowed). */
  bearerToken: string | undefined
  /** Authorization headers /openid/v1/jwks received, in order. */
  readonly authorizations: Array<string | undefined> = []

  readonly #server: Server
  readonly #keys: SigningKey[] = []
  readonly #counts = new Map<string, number>()
  readonly #faults = new Map<string, JwksFault>()
  readonly #timers = new Set<NodeJS.Timeout>()

  private constructor(server: Server, url: string, options: JwksServerOptions) {
    this.#server = server
    this.url = url
    this.issuer = options.issuer ?? url
    this.jwksUri = `${url}${keysPath}`
    this.bearerToken = options.bearerToken
  }

  static async start(options: JwksServerOptions = {}): Promise<JwksServer> {
    let instance: JwksServer | undefined
    const handler = (req: IncomingMessage, res: ServerResponse): void => instance?.handle(req, res)
    const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const { port } = server.address() as AddressInfo
    instance = new JwksServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, options)
    await instance.addKey(options.alg)
    return instance
  }

  /** A new key pair with a fresh kid, published from now on; the newest key signs by default. */
  async addKey(alg: SigningAlg = 'RS256'): Promise<SigningKey> {
    const key = await newSigningKey(alg)
    this.#keys.push(key)
    return key
  }

  /** Stops publishing a key (its private half still signs, as a retired or stolen key would). */
  removeKey(kid: string): void {
    const i = this.#keys.findIndex((k) => k.kid === kid)
    if (i < 0) throw new Error(`no key ${kid}`)
    this.#keys.splice(i, 1)
  }

  /** A rotation: publish a new key, retire the oldest. Returns the new key. */
  async rotate(alg: SigningAlg = 'RS256'): Promise<SigningKey> {
    const oldest = this.#keys[0]
    const next = await this.addKey(alg)
    if (oldest) this.removeKey(oldest.kid)
    return next
  }

  /** The key that signs by default: the newest one published. */
  get currentKey(): SigningKey {
    const key = this.#keys.at(-1)
    if (!key) throw new Error('the server publishes no key')
    return key
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) }
  }

  /** Signs claims as this issuer would: a compact JWS with `alg` and `kid` in the header. */
  async sign(claims: JWTPayload, options: { key?: SigningKey; header?: Record<string, unknown> } = {}): Promise<string> {
    const key = options.key ?? this.currentKey
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...options.header }).sign(key.privateKey)
  }

  /** Answer `path` (or every path, with '*') with a fault until healed. */
  fail(path: string, fault: JwksFault): void {
    this.#faults.set(path, fault)
  }

  heal(path = '*'): void {
    if (path === '*') this.#faults.clear()
    else this.#faults.delete(path)
  }

  /** Requests received for `path`, or for every path. */
  requests(path?: string): number {
    if (path !== undefined) return this.#counts.get(path) ?? 0
    return [...this.#counts.values()].reduce((a, b) => a + b, 0)
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    // close() alone waits for keep-alive sockets to idle out; tests must not wait for that.
    this.#server.closeAllConnections()
    await closed
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.url).pathname
    this.#counts.set(path, (this.#counts.get(path) ?? 0) + 1)
    const document = this.document(path, req)
    if (!document) return send(res, 404, { error: 'not_found' })
    if (document.status !== 200) return send(res, document.status, document.body)
    const fault = this.#faults.get(path) ?? this.#faults.get('*')
    switch (fault?.kind) {
      case undefined:
        return send(res, 200, document.body)
      case 'status':
        return send(res, fault.status, { error: 'injected fault' })
      case 'non-json':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>')
        return
      case 'oversized':
        return send(res, 200, { ...document.body, padding: 'x'.repeat(fault.bytes) })
      case 'slow': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          if (!res.destroyed) send(res, 200, document.body)
        }, fault.ms)
        this.#timers.add(timer)
      }
    }
  }

  private document(path: string, req: IncomingMessage): { status: number; body: Record<string, unknown> } | undefined {
    if (path === discoveryPath) {
      return { status: 200, body: { issuer: this.issuer, jwks_uri: this.jwksUri, id_token_signing_alg_values_supported: ['RS256', 'ES256'] } }
    }
    if (path === keysPath) return { status: 200, body: this.jwks() }
    if (path === kubernetesKeysPath) {
      this.authorizations.push(req.headers.authorization)
      if (this.bearerToken !== undefined && req.headers.authorization !== `Bearer ${this.bearerToken}`) {
        return { status: 401, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 } }
      }
      return { status: 200, body: this.jwks() }
    }
    return undefined
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
