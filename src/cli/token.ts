import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fingerprint } from '../observability/audit.js'
import type { ErrorResponse } from '../http/contract/common.js'
import type { TokenResponse } from '../http/contract/token.js'
import { brokerGet, type BrokerAnswer } from './broker-request.js'
import { CliFailure, exitCode, parseOrUsage, printable, UsageError, type Command, type Io } from './io.js'

/** Wide enough for the longest label (`access_token:`) and a space. */
const labelWidth = 14

export const tokenCommand: Command = {
  name: 'token',
  usage: `Usage: lwa-broker token --url URL --credential NAME (--jwt-file PATH | --jwt JWT)
                        [--min-ttl SECONDS] [--show-token]

Calls GET /token on the broker at URL (e.g. http://127.0.0.1:8787) as the caller the JWT
names, and prints the status, expiry, the header names and the token's fingerprint
(sha256:…, as in the broker's audit log). Exit 0 on 200; 1 on an error answer (its error,
message and request id are printed) or when the broker cannot be reached.

  --jwt-file PATH  read the JWT from a file, fresh on every run (projected service-account
                   tokens rotate); preferred over --jwt, which lands in shell history
  --min-ttl S      ask for a token with at least S seconds left
  --show-token     also print the access token itself (it then sits in your scrollback)`,

  async run(args, io) {
    const { values } = parseOrUsage(() => parseArgs({
      args, strict: true, options: {
        url: { type: 'string' }, credential: { type: 'string' }, jwt: { type: 'string' },
        'jwt-file': { type: 'string' }, 'min-ttl': { type: 'string' },
        'show-token': { type: 'boolean', default: false },
      },
    }))
    if (!values.url || !values.credential) throw new UsageError('--url and --credential are required')
    const url = tokenUrl(values.url, values.credential, values['min-ttl'])
    const answer = await brokerGet(url, readJwt(values.jwt, values['jwt-file']))
    if (answer.status === 200) return printToken(answer.body as TokenResponse, answer, values['show-token'], io)
    printError(answer, io)
    return exitCode.failed
  },
}

function tokenUrl(base: string, credential: string, minTtl: string | undefined): URL {
  let url: URL
  try {
    // Relative to the base with a trailing slash, so a broker behind a path prefix works too.
    url = new URL('token', base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new UsageError(`--url is not a URL: ${printable(base)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http:// or https://')
  url.searchParams.set('credential', credential)
  if (minTtl !== undefined) {
    if (!/^\d+$/.test(minTtl)) throw new UsageError('--min-ttl must be a whole number of seconds')
    url.searchParams.set('min_ttl', minTtl)
  }
  return url
}

function readJwt(jwt: string | undefined, file: string | undefined): string {
  if ((jwt === undefined) === (file === undefined)) throw new UsageError('give exactly one of --jwt and --jwt-file')
  if (jwt !== undefined) return jwt.trim()
  try {
    return readFileSync(file as string, 'utf8').trim()
  } catch (err) {
    throw new CliFailure(`cannot read --jwt-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

function printToken(body: TokenResponse, answer: BrokerAnswer, showToken: boolean, io: Io): number {
  if (typeof body?.access_token !== 'string') {
    throw new CliFailure('the broker answered 200 without an access_token (is URL a broker?)')
  }
  const line = (name: string, value: unknown): void => io.out(labelled(name, value))
  line('status', answer.status)
  line('credential', `${body.credential} (api ${body.api}, region ${body.region})`)
  line('expires_in', `${body.expires_in} s (at ${body.expires_at})`)
  line('headers', Object.keys(body.headers ?? {}).join(', '))
  line('fingerprint', fingerprint(body.access_token))
  if (answer.requestId) line('request_id', answer.requestId)
  if (showToken) line('access_token', body.access_token)
  return exitCode.ok
}

function printError(answer: BrokerAnswer, io: Io): void {
  const line = (name: string, value: unknown): void => io.err(labelled(name, value))
  const body = answer.body as Partial<ErrorResponse> | undefined
  line('status', answer.status)
  if (typeof body?.error === 'string') {
    line('error', body.error)
    line('message', body.message ?? '')
  } else {
    // Not the broker's error shape (a proxy or another server): its body is not echoed.
    line('error', `not a broker error answer (content-type ${answer.contentType ?? 'none'})`)
  }
  const requestId = body?.request_id ?? answer.requestId
  if (requestId) line('request_id', requestId)
  if (answer.retryAfter) line('retry_after', `${answer.retryAfter} s`)
}

/** `name:  value`, aligned; values come from the network, so they go through printable(). */
const labelled = (name: string, value: unknown): string => `${`${name}:`.padEnd(labelWidth)}${printable(String(value))}`
