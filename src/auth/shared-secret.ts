import { createSecretKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IssuerConfig } from '../config/index.js'

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output; HS256 needs 32 bytes. */
const minSharedSecretBytes = 32

export function sharedSecret(config: IssuerConfig, file: string): KeyObject {
  let secret: Buffer
  try {
    secret = readFileSync(file)
  } catch (err) {
    throw new TypeError(
      `issuer ${config.issuer}: cannot read sharedSecretFile ${file}: ${(err as NodeJS.ErrnoException).code}`,
    )
  }
  const trimmed = Buffer.from(secret.toString('utf8').trim())
  if (trimmed.length < minSharedSecretBytes) {
    throw new TypeError(
      `issuer ${config.issuer}: the shared secret in ${file} is shorter than ${minSharedSecretBytes} bytes`,
    )
  }
  return createSecretKey(trimmed)
}
