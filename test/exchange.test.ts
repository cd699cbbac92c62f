import t from 'tap'
import type { TokenRequest } from '../src/exchange.js'
import { build, type Harness } from './helper.js'

/** The exchange's request for this harness's caller, as the token route makes it. */
async function request(h: Harness, credential: string, subject = 'system:serviceaccount:ads:reporter'): Promise<TokenRequest> {
  const jwt = await h.jwt({ claims: { sub: subject } })
  const caller = await h.services.authenticator.authenticate(`Bearer ${jwt}`)
  return { requestId: 'req-1', caller, callerError: undefined, callerKey: `caller:${subject}`, credential, minTtlSeconds: 60 }
}

const issuedLines = (h: Harness) => h.logs.records().filter((r) => r.event === 'token.issued').length
const issuedCount = async (h: Harness, credential: string) => {
  const text = (await h.ops.inject({ url: '/metrics' })).body
  const line = text.split('\n').find((l) => l.startsWith(`lwa_broker_tokens_issued_total{credential="${credential}",outcome="issued"}`))
  return Number(line?.split(' ').at(-1) ?? 0)
}

t.test('issueCached: a cached token the caller may have is issued at once, audited and counted like issue()', async (t) => {
  const h = await build(t)
  const req = await request(h, 'ads-us')
  t.equal(h.services.exchange.issueCached(req), undefined, 'cold: nothing cached, so the caller must wait through issue()')
  t.equal(issuedLines(h), 0, 'and nothing was audited for it')
  const first = await h.services.exchange.issue(req)
  t.equal(issuedLines(h), 1)
  const again = h.services.exchange.issueCached(req)
  t.equal(again, first, 'the same cached token, without a promise')
  t.equal(issuedLines(h), 2, 'audited')
  t.equal(await issuedCount(h, 'ads-us'), 2, 'counted')
  t.equal(h.lwa.callCount(), 1)
})

t.test('issueCached leaves every refusal to issue(): nothing is recorded twice or skipped', async (t) => {
  const h = await build(t)
  await h.services.exchange.issue(await request(h, 'sp-acme-eu', 'system:serviceaccount:platform:all'))
  const lines = h.logs.lines.length
  const denied = await request(h, 'sp-acme-eu')
  t.equal(h.services.exchange.issueCached(denied), undefined, 'a caller the policy refuses, even for a cached token')
  t.equal(h.services.exchange.issueCached({ ...denied, caller: undefined }), undefined, 'no caller')
  t.equal(h.services.exchange.issueCached(await request(h, 'nope', 'system:serviceaccount:platform:all')), undefined,
    'an unknown credential the caller could use')
  t.equal(h.logs.lines.length, lines, 'none of them audited here')
  await t.rejects(h.services.exchange.issue(denied), { code: 'forbidden' }, 'issue() refuses and audits it')
  t.equal(h.logs.records().filter((r) => r.event === 'token.denied').length, 1)
})
