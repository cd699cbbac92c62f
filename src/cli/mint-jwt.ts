import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SignJWT, type JWTPayload } from 'jose'
import { loadSigningKey, signingAlg, writeDevKeyPair } from './dev-keys.js'
import { exitCode, parseOrUsage, UsageError, type Command, type Io } from './io.js'

const defaultAudience = 'lwa-broker'
const defaultTtlSeconds = 300
/** A local test token needs no longer; long-lived JWTs are a habit worth not forming. */
const maxTtlSeconds = 86_400
const defaultGeneratedAlg = 'ES256'
/** Claims that have their own flag, so a --claim cannot quietly contradict it. */
const flagClaims: Record<string, string> = { iss: '--iss', sub: '--sub', aud: '--aud', exp: '--ttl' }

export const mintJwtCommand: Command = {
  name: 'mint-jwt',
  usage: `Usage: lwa-broker mint-jwt --key PATH --iss ISS --sub SUB [--aud AUD]... [--ttl SECONDS]
                           [--alg ALG] [--kid KID] [--claim NAME=VALUE]...
       lwa-broker mint-jwt --generate-key OUT_PREFIX [--alg ALG]

Signs a JWT (iss, sub, aud, iat, exp, jti) for local testing and prints it on stdout.
  --key PATH        a PKCS#8 PEM or private JWK file; --alg and --kid default to the key's
                    own (RSA: RS256; the kid of a generated key is its RFC 7638 thumbprint)
  --aud AUD         default ${defaultAudience}; repeat for several audiences
  --ttl SECONDS     default ${defaultTtlSeconds}, at most ${maxTtlSeconds}
  --claim N=V       an extra claim; V is JSON if it parses (42, true, {"a":1}), else a string
--generate-key writes OUT_PREFIX.key.pem (mode 0600) and OUT_PREFIX.jwks.json (the public
JWKS, for an issuer's jwks: { file: … }); --alg defaults to ${defaultGeneratedAlg}.
Only asymmetric algorithms: none and HS* are refused.`,

  async run(args, io) {
    const { values } = parseOrUsage(() => parseArgs({
      args, strict: true, options: {
        key: { type: 'string' }, iss: { type: 'string' }, sub: { type: 'string' },
        aud: { type: 'string', multiple: true }, ttl: { type: 'string' }, alg: { type: 'string' },
        kid: { type: 'string' },
        claim: { type: 'string', multiple: true }, 'generate-key': { type: 'string' },
      },
    }))
    const alg = values.alg === undefined ? undefined : signingAlg(values.alg)
    if (values['generate-key'] !== undefined) {
      if (values.key || values.iss || values.sub) {
        throw new UsageError('--generate-key only writes a key pair; mint with --key afterwards')
      }
      return generateKey(values['generate-key'], alg ?? defaultGeneratedAlg, io)
    }
    if (!values.key || !values.iss || !values.sub) throw new UsageError('--key, --iss and --sub are required')
    const signing = await loadSigningKey(values.key, alg, values.kid)
    const now = Math.floor(Date.now() / 1000)
    const audiences = values.aud ?? [defaultAudience]
    const payload: JWTPayload = {
      jti: randomUUID(), iat: now, ...parseClaims(values.claim ?? []),
      iss: values.iss, sub: values.sub, aud: audiences.length === 1 ? audiences[0] : audiences,
      exp: now + ttlSeconds(values.ttl),
    }
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
      .sign(signing.key)
    io.out(jwt)
    return exitCode.ok
  },
}

async function generateKey(prefix: string, alg: ReturnType<typeof signingAlg>, io: Io): Promise<number> {
  const { keyPath, jwksPath, kid } = await writeDevKeyPair(prefix, alg)
  io.out(`wrote ${resolve(keyPath)} (private key, mode 0600; keep it out of version control)`)
  io.out(`wrote ${resolve(jwksPath)} (public JWKS, kid ${kid})`)
  io.out('trust it with an issuer in the broker config:')
  io.out(`  - issuer: https://dev.example        # the --iss you mint with`)
  io.out(`    audiences: [${defaultAudience}]`)
  io.out(`    algorithms: [${alg}]`)
  io.out(`    jwks: { file: ${resolve(jwksPath)} }`)
  // --alg spelled out: a PEM cannot say whether an RSA key is meant for RS* or PS*.
  io.out(`then: lwa-broker mint-jwt --key ${resolve(keyPath)} --alg ${alg} --iss https://dev.example --sub SUBJECT`)
  return exitCode.ok
}

function ttlSeconds(value: string | undefined): number {
  if (value === undefined) return defaultTtlSeconds
  const ttl = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(ttl >= 1 && ttl <= maxTtlSeconds)) {
    throw new UsageError(`--ttl must be whole seconds from 1 to ${maxTtlSeconds}`)
  }
  return ttl
}

function parseClaims(claims: string[]): JWTPayload {
  const payload: JWTPayload = {}
  for (const claim of claims) {
    const eq = claim.indexOf('=')
    if (eq < 1) throw new UsageError(`--claim ${claim}: expected NAME=VALUE`)
    const name = claim.slice(0, eq)
    if (flagClaims[name]) throw new UsageError(`--claim ${name}: set it with ${flagClaims[name]}`)
    payload[name] = jsonOrString(claim.slice(eq + 1))
  }
  return payload
}

function jsonOrString(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}
