import t from 'tap'
import { compileGlob, compilePolicy, isAdmin, mayGetCredential, type Principal } from '../../src/auth/index.js'

const principal = (subject: string, issuer = 'https://a.example'): Principal => ({ issuer, subject, claims: {}, expiresAtMs: 0, issuedAtMs: undefined })

t.test('globs: * is any run, ? one character, everything else literal', async (t) => {
  const table: Array<[string, string, boolean]> = [
    ['ads-*', 'ads-us', true],
    ['ads-*', 'ads-', true],
    ['ads-*', 'xads-us', false],
    ['ads-*', 'ADS-us', false],
    ['*', '', true],
    ['*', 'anything:at/all', true],
    ['ads-??', 'ads-us', true],
    ['ads-??', 'ads-usa', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['system:serviceaccount:ads:*', 'system:serviceaccount:ads:reporter', true],
    ['system:serviceaccount:ads:*', 'system:serviceaccount:adsx:reporter', false],
    ['system:serviceaccount:*:reporter', 'system:serviceaccount:ops:reporter', true],
    ['(a|b)', 'a', false],
    ['(a|b)', '(a|b)', true],
    ['a+', 'aa', false],
    ['[ab]', 'a', false],
    ['x*', 'x\nnewline', true],
  ]
  for (const [glob, value, expected] of table) t.equal(compileGlob(glob).test(value), expected, `${glob} ~ ${JSON.stringify(value)}`)
})

t.test('policy decisions: default deny, issuer and subject must both match, first match wins', async (t) => {
  const policy = compilePolicy([
    { subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'], admin: false, claims: {} },
    { issuer: 'https://b.example', subject: 'ops', credentials: ['*'], admin: true, claims: {} },
    { subject: 'reporter', credentials: ['sp-acme-eu', 'sp-acme-us'], admin: false, claims: {} },
  ])
  const table: Array<[string, Principal, string, false | number]> = [
    ['ads glob allows ads credential', principal('system:serviceaccount:ads:reporter'), 'ads-us', 0],
    ['ads glob does not allow sp', principal('system:serviceaccount:ads:reporter'), 'sp-acme-eu', false],
    ['issuer-bound rule from its issuer', principal('ops', 'https://b.example'), 'anything', 1],
    ['issuer-bound rule from another issuer', principal('ops', 'https://a.example'), 'anything', false],
    ['exact list member', principal('reporter'), 'sp-acme-us', 2],
    ['not in exact list', principal('reporter'), 'sp-acme-eu2', false],
    ['unknown subject', principal('stranger'), 'ads-us', false],
    ['empty subject', principal(''), 'ads-us', false],
  ]
  for (const [name, who, credential, rule] of table) {
    const decision = mayGetCredential(policy, who, credential)
    t.same(decision, rule === false ? { allowed: false } : { allowed: true, rule }, name)
  }
})

t.test('an empty policy denies everything', async (t) => {
  t.same(mayGetCredential(compilePolicy([]), principal('anyone'), 'ads-us'), { allowed: false })
  t.equal(isAdmin(compilePolicy([]), principal('anyone')), false)
})

t.test('admin comes only from a matching rule that says admin', async (t) => {
  const policy = compilePolicy([
    { subject: 'system:serviceaccount:ops:*', credentials: [], admin: true, claims: {} },
    { subject: '*', credentials: ['ads-*'], admin: false, claims: {} },
  ])
  t.equal(isAdmin(policy, principal('system:serviceaccount:ops:admin')), true)
  t.equal(isAdmin(policy, principal('system:serviceaccount:ads:reporter')), false)
  t.same(mayGetCredential(policy, principal('system:serviceaccount:ops:admin'), 'ads-us'), { allowed: true, rule: 1 }, 'admin alone grants no credential')
})
