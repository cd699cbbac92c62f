import t from 'tap'
import { compileGlob, compilePolicy, isAdmin, mayGetCredential, type Principal } from '../../src/auth/index.js'
import { withMemo } from '../../src/memo.js'

const principal = (subject: string, issuer = 'https://a.example'): Principal => withMemo({ issuer, subject, claims: {}, expiresAtMs: 0, issuedAtMs: undefined, memo: undefined })

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

const k8sPrincipal = (namespace: string, serviceAccount: string, pod: string): Principal => withMemo({
  issuer: 'https://a.example',
  subject: `system:serviceaccount:${namespace}:${serviceAccount}`,
  claims: { 'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: 'u1' }, pod: { name: pod, uid: 'u2' } }, groups: ['team-ads', 'oncall'], level: 3 },
  expiresAtMs: 0,
  issuedAtMs: undefined,
  memo: undefined,
})

t.test('claims: exact or glob, nested paths, arrays match any element, absent claims never match', async (t) => {
  const rule = (claims: Record<string, string>) => compilePolicy([{ subject: '*', claims, credentials: ['ads-*'], admin: false }])
  const who = k8sPrincipal('ads', 'reporter', 'reporter-7d9f8c6b5-x2k4q')
  const table: Array<[string, Record<string, string>, boolean]> = [
    ['nested exact', { 'kubernetes.io/namespace': 'ads' }, true],
    ['nested exact, other value', { 'kubernetes.io/namespace': 'sp' }, false],
    ['deeper nested glob', { 'kubernetes.io/pod/name': 'reporter-*' }, true],
    ['glob does not match', { 'kubernetes.io/pod/name': 'writer-*' }, false],
    ['array claim, one element matches', { groups: 'team-*' }, true],
    ['array claim, none matches', { groups: 'team-sp' }, false],
    ['number claim compared as text', { level: '3' }, true],
    ['object claim never matches', { 'kubernetes.io': '*' }, false],
    ['absent claim never matches, even with *', { missing: '*' }, false],
    ['path through a non-object', { 'groups/0': 'team-ads' }, false],
    ['all entries must match', { 'kubernetes.io/namespace': 'ads', groups: 'nobody' }, false],
    ['prototype keys are not claims', { 'constructor/name': '*' }, false],
  ]
  for (const [name, claims, allowed] of table) t.equal(mayGetCredential(rule(claims), who, 'ads-us').allowed, allowed, name)
})

t.test('the kubernetes shorthand matches namespace, service account and pod', async (t) => {
  const policy = compilePolicy([
    { subject: 'system:serviceaccount:*', kubernetes: { namespace: 'ads', serviceAccount: 'reporter' }, claims: {}, credentials: ['ads-*'], admin: false },
    { subject: 'system:serviceaccount:*', kubernetes: { pod: 'sync-*' }, claims: {}, credentials: ['sp-*'], admin: false },
  ])
  const table: Array<[string, Principal, string, boolean]> = [
    ['namespace + service account', k8sPrincipal('ads', 'reporter', 'p1'), 'ads-us', true],
    ['other namespace', k8sPrincipal('sp', 'reporter', 'p1'), 'ads-us', false],
    ['other service account', k8sPrincipal('ads', 'writer', 'p1'), 'ads-us', false],
    ['pod glob', k8sPrincipal('any', 'any', 'sync-5f6d'), 'sp-acme-eu', true],
    ['pod glob, other pod', k8sPrincipal('any', 'any', 'report-5f6d'), 'sp-acme-eu', false],
    ['a token without kubernetes.io claims', withMemo({ ...k8sPrincipal('ads', 'reporter', 'p1'), claims: {}, memo: undefined }), 'ads-us', false],
  ]
  for (const [name, who, credential, allowed] of table) t.equal(mayGetCredential(policy, who, credential).allowed, allowed, name)
})

t.test('rate limits come from the first applicable rule that sets one', async (t) => {
  const { rateLimitOf } = await import('../../src/auth/index.js')
  const policy = compilePolicy([
    { subject: 'batch-*', claims: {}, credentials: ['x'], admin: false, rateLimit: { max: 5000 } },
    { subject: '*', claims: {}, credentials: ['x'], admin: false },
    { subject: 'svc', claims: {}, credentials: ['y'], admin: false, rateLimit: { max: 10 } },
  ])
  t.equal(rateLimitOf(policy, principal('batch-1')), 5000)
  t.equal(rateLimitOf(policy, principal('svc')), 10, 'a rule without a limit does not stop the search')
  t.equal(rateLimitOf(policy, principal('other')), undefined, 'no rule sets one: the global limit applies')
})

t.test('a decision remembered for a principal is the decision of the policy asked, never of another one', async (t) => {
  const caller = principal('system:serviceaccount:ads:reporter')
  const open = compilePolicy([{ subject: 'system:serviceaccount:ads:*', credentials: ['ads-*'], admin: true, claims: {} }])
  const closed = compilePolicy([{ subject: 'system:serviceaccount:sp:*', credentials: ['*'], admin: false, claims: {} }])
  for (let i = 0; i < 2; i++) {
    t.equal(mayGetCredential(open, caller, 'ads-us').allowed, true, `round ${i}: the open policy allows`)
    t.equal(mayGetCredential(closed, caller, 'ads-us').allowed, false, `round ${i}: the closed policy denies`)
    t.equal(isAdmin(open, caller), true)
    t.equal(isAdmin(closed, caller), false)
    t.equal(mayGetCredential(open, caller, 'sp-eu').allowed, false, 'credential globs are still checked per request')
  }
})

t.test('profile globs: a rule with them allows only requests for a profile they match', async (t) => {
  const policy = compilePolicy([
    { subject: 'narrow', claims: {}, credentials: ['ads-*'], profiles: ['1111*', '42'], admin: false },
    { subject: 'wide', claims: {}, credentials: ['ads-*'], admin: false },
  ])
  const ask = (who: string, profile: string | undefined) => mayGetCredential(policy, principal(who), 'ads-us', undefined, () => profile).allowed
  t.equal(ask('narrow', '1111000000000001'), true)
  t.equal(ask('narrow', '42'), true)
  t.equal(ask('narrow', '4242'), false, 'globs are anchored')
  t.equal(ask('narrow', undefined), false, 'no profile at all is not one the globs match')
  t.equal(ask('wide', '4242'), true, 'a rule without profiles: any profile')
  t.equal(ask('wide', undefined), true, 'and none')
})
