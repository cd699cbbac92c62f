import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { AuditLog, fingerprint } from '../../src/observability/audit.js'
import { LogOutputs } from '../../src/observability/log-output.js'
import { withMemo } from '../../src/memo.js'

/** The destination opens and writes asynchronously (it is on the request path); wait for the lines. */
async function linesOf(file: string, count: number): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 5000
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const lines = text.split('\n').filter((l) => l.endsWith('}'))
    if (lines.length >= count || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const principal = withMemo({ issuer: 'https://issuer.example', subject: 'system:serviceaccount:ads:reporter', claims: {}, expiresAtMs: 0, issuedAtMs: undefined, memo: undefined })

t.test('the audit trail can go to its own file, one JSON event per line, never the token', async (t) => {
  const file = join(t.testdir({}), 'audit', 'audit.log')
  const audit = new AuditLog(new LogOutputs({ mode: 'buffered', flushMs: 10 }).sink(file))
  const token = 'Atza|IwEBIExampleAccessTokenThatMustNotBeWritten'
  const expiresAtMs = Date.UTC(2026, 10, 24, 12)
  const issued = withMemo({ accessToken: token, credential: 'ads-us', expiresAtMs, expiresAt: new Date(expiresAtMs).toISOString(), memo: undefined })
  audit.issued({ requestId: 'r1', principal, credential: 'ads-us' }, issued)
  audit.denied({ requestId: 'r2', principal: undefined, credential: 'sp-eu' }, 'unauthenticated', 'ERR_JWT_EXPIRED')
  // The same token under another name (its memo holds the first name's part of the line).
  audit.issued({ requestId: 'r3', principal, credential: 'ads-us-alias' }, issued)
  // A name JSON must escape is escaped (the line is joined from the name's own string where it needs none).
  audit.issued({ requestId: 'r4', principal, credential: 'odd"name\\' }, issued)
  const events = await linesOf(file, 4)
  t.equal(events.length, 4)
  t.match(events[0], {
    log: 'audit', event: 'token.issued', outcome: 'allowed', requestId: 'r1', credential: 'ads-us',
    callerIssuer: 'https://issuer.example', callerSubject: 'system:serviceaccount:ads:reporter',
    tokenFingerprint: fingerprint(token), expiresAt: '2026-11-24T12:00:00.000Z',
  })
  t.match(events[1], { log: 'audit', event: 'token.denied', outcome: 'denied', error: 'unauthenticated', reason: 'ERR_JWT_EXPIRED', requestId: 'r2' })
  t.match(events[2], { event: 'token.issued', requestId: 'r3', credential: 'ads-us-alias', tokenFingerprint: fingerprint(token), msg: 'token issued' })
  t.match(events[3], { requestId: 'r4', credential: 'odd"name\\', expiresAt: '2026-11-24T12:00:00.000Z' })
  t.notMatch(readFileSync(file, 'utf8'), 'Atza|', 'the token itself is not in the file')
})

t.test('a fingerprint is short, stable and not the token', async (t) => {
  t.match(fingerprint('Atza|abc'), /^sha256:[0-9a-f]{16}$/)
  t.equal(fingerprint('Atza|abc'), fingerprint('Atza|abc'))
  t.not(fingerprint('Atza|abc'), fingerprint('Atza|abd'))
})
