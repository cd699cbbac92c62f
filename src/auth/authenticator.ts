import { readFileSync } from 'node:fs'
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { Clock } from '../clock.js'
import type { IssuerConfig } from '../config/index.js'
import { BrokerError } from '../errors.js'
import type { Principal } from './principal.js'

/** Real JWTs are well under this; a bigger header is an attack or a mistake, refused before parsing. */
const maxJwtBytes = 8 * 1024

interface IssuerVerifier {
  config: IssuerConfig
  keys: JWTVerifyGetKey
}

/**
 * Verifies caller JWTs against the configured issuers. The unverified `iss` only selects
 * one of the configured issuers; nothing about an unknown issuer is ever fetched or trusted.
 * Every failure is the same 401 to the caller; `logDetail.reason` says which check failed.
 */
export class Authenticator {
  private readonly issuers: Map<string, IssuerVerifier>
  private readonly clock: Clock

  constructor(issuers: readonly IssuerConfig[], clock: Clock) {
    this.clock = clock
    this.issuers = new Map(issuers.map((config) => [config.issuer, { config, keys: loadKeys(config) }]))
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const jwt = bearerToken(authorization)
    const issuer = this.issuerOf(jwt)
    const { config } = issuer
    try {
      const { payload } = await jwtVerify(jwt, issuer.keys, {
        issuer: config.issuer,
        audience: config.audiences,
        algorithms: config.algorithms,
        clockTolerance: config.clockToleranceSeconds,
        ...(config.maxTokenAgeSeconds ? { maxTokenAge: config.maxTokenAgeSeconds } : {}),
        requiredClaims: ['iss', 'aud', 'exp', 'sub'],
        currentDate: new Date(this.clock.now()),
      })
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw unauthenticated('invalid_sub', { issuer: config.issuer })
      return { issuer: config.issuer, subject: payload.sub, claims: payload, expiresAtMs: (payload.exp as number) * 1000 }
    } catch (err) {
      throw err instanceof BrokerError ? err : unauthenticated(joseReason(err), { issuer: config.issuer })
    }
  }

  private issuerOf(jwt: string): IssuerVerifier {
    let iss: unknown
    try {
      iss = decodeJwt(jwt).iss
    } catch {
      throw unauthenticated('malformed_token')
    }
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined
    if (!issuer) throw unauthenticated(typeof iss === 'string' ? 'unknown_issuer' : 'missing_issuer')
    return issuer
  }
}

/** Misconfigured keys stop start-up with a message naming the issuer (and file). */
function loadKeys(config: IssuerConfig): JWTVerifyGetKey {
  const source = config.jwks.file ? `JWKS file ${config.jwks.file}` : 'inline JWKS'
  try {
    const jwks = config.jwks.file ? JSON.parse(readFileSync(config.jwks.file, 'utf8')) as JSONWebKeySet : { keys: config.jwks.keys } as JSONWebKeySet
    return createLocalJWKSet(jwks)
  } catch (err) {
    throw new TypeError(`issuer ${config.issuer}: cannot use ${source}: ${(err as Error).message}`)
  }
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw unauthenticated('missing_token')
  const match = /^Bearer +([^ ]+) *$/i.exec(authorization)
  if (!match?.[1]) throw unauthenticated('not_bearer')
  if (match[1].length > maxJwtBytes) throw unauthenticated('oversized_token')
  return match[1]
}

/** jose's error codes name the failed check; claim failures also name the claim. */
function joseReason(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `${err.code}:${err.claim}:${err.reason}`
  if (err instanceof joseErrors.JOSEError) return err.code
  return 'verification_failed'
}

export function unauthenticated(reason: string, detail: Record<string, unknown> = {}): BrokerError {
  return new BrokerError('unauthenticated', 'missing or invalid bearer token', { logDetail: { reason, ...detail } })
}
