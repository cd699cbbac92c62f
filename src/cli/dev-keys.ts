import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { hmacAlgorithms, jwsAlgorithms } from '../config/schema.js'
import { CliFailure, UsageError } from './io.js'

/** The broker's own list of asymmetric algorithms: a dev key can sign only what an issuer may accept. */
export type SigningAlg = (typeof jwsAlgorithms)[number]

export interface SigningKey {
  key: KeyObject
  alg: SigningAlg
  kid: string
}

const rsaModulusBits = 2048

/** Node's key types (and EC curve) each algorithm signs with. */
const keyTypes: Record<SigningAlg, { types: string[]; curve?: string }> = {
  RS256: { types: ['rsa'] }, RS384: { types: ['rsa'] }, RS512: { types: ['rsa'] },
  PS256: { types: ['rsa', 'rsa-pss'] }, PS384: { types: ['rsa', 'rsa-pss'] }, PS512: { types: ['rsa', 'rsa-pss'] },
  ES256: { types: ['ec'], curve: 'prime256v1' }, ES384: { types: ['ec'], curve: 'secp384r1' },
  ES512: { types: ['ec'], curve: 'secp521r1' },
  EdDSA: { types: ['ed25519'] },
}

/** `none` and HS* are refused by name: a dev key is asymmetric, and the broker never accepts `none`. */
export function signingAlg(name: string): SigningAlg {
  if (name.toLowerCase() === 'none' || (hmacAlgorithms as readonly string[]).includes(name.toUpperCase())) {
    throw new UsageError(
      `--alg ${name} is refused: mint-jwt signs only with asymmetric keys (${jwsAlgorithms.join(', ')})`,
    )
  }
  if (!(jwsAlgorithms as readonly string[]).includes(name)) {
    throw new UsageError(`--alg must be one of: ${jwsAlgorithms.join(', ')}`)
  }
  return name as SigningAlg
}

/** A PKCS#8 PEM or private JWK file; the algorithm and kid default to what the key itself says. */
export async function loadSigningKey(
  path: string,
  alg: SigningAlg | undefined,
  kid: string | undefined,
): Promise<SigningKey> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliFailure(`cannot read --key ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  const jwk = text.trimStart().startsWith('{') ? parseJwk(text) : undefined
  const key = privateKey(jwk ?? text)
  if (!key) throw new CliFailure(`--key ${path} is not a private key (a PKCS#8 PEM or a private JWK)`)
  const chosen = alg ?? (typeof jwk?.alg === 'string' ? signingAlg(jwk.alg) : jwsAlgorithms.find((a) => fits(a, key)))
  if (!chosen || !fits(chosen, key)) {
    throw new CliFailure(
      `--key ${path} (${key.asymmetricKeyType ?? 'unknown'} key) cannot sign ${chosen ?? 'any allowed algorithm'}`,
    )
  }
  return { key, alg: chosen, kid: kid ?? (typeof jwk?.kid === 'string' ? jwk.kid : await thumbprint(key)) }
}

/**
 * Writes PREFIX.key.pem (0600) and PREFIX.jwks.json. The kid is the key's RFC 7638
 * thumbprint, so mint-jwt finds the same kid from the PEM alone. Never overwrites a key.
 */
export async function writeDevKeyPair(
  prefix: string,
  alg: SigningAlg,
): Promise<{ keyPath: string; jwksPath: string; kid: string }> {
  const keyPath = `${prefix}.key.pem`
  const jwksPath = `${prefix}.jwks.json`
  for (const path of [keyPath, jwksPath]) {
    if (existsSync(path)) throw new CliFailure(`${path} already exists; not overwriting it`)
  }
  const { privateKey, publicKey } = generate(alg)
  const kid = await thumbprint(privateKey)
  const jwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' }] }
  try {
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
    writeFileSync(jwksPath, JSON.stringify(jwks, null, 2) + '\n', { flag: 'wx' })
  } catch (err) {
    throw new CliFailure(`cannot write the key files: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return { keyPath, jwksPath, kid }
}

function fits(alg: SigningAlg, key: KeyObject): boolean {
  const want = keyTypes[alg]
  return want.types.includes(key.asymmetricKeyType ?? '')
    && (!want.curve || key.asymmetricKeyDetails?.namedCurve === want.curve)
}

function generate(alg: SigningAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  const want = keyTypes[alg]
  if (want.curve) return generateKeyPairSync('ec', { namedCurve: want.curve })
  if (want.types[0] === 'ed25519') return generateKeyPairSync('ed25519')
  return generateKeyPairSync('rsa', { modulusLength: rsaModulusBits })
}

/** Node parses PEM (PKCS#8, PKCS#1, SEC1) and JWK; anything else, or a public or secret key, is undefined. */
function privateKey(source: string | JsonWebKey): KeyObject | undefined {
  try {
    const key = typeof source === 'string' ? createPrivateKey(source) : createPrivateKey({ key: source, format: 'jwk' })
    return key.type === 'private' ? key : undefined
  } catch {
    return undefined
  }
}

function parseJwk(text: string): JsonWebKey | undefined {
  try {
    return JSON.parse(text) as JsonWebKey
  } catch {
    return undefined
  }
}

const thumbprint = (key: KeyObject): Promise<string> =>
  calculateJwkThumbprint(createPublicKey(key).export({ format: 'jwk' }) as JWK)
