import { setFlagsFromString } from 'node:v8'
import t from 'tap'
import { build, fixtures } from '../helper.js'

// V8's own answer to "do these objects share a hidden class?", compiled after the flag is set.
setFlagsFromString('--allow-natives-syntax')
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean

const sellers = 40

/**
 * What the hot path holds per credential (its IssuedToken) and per caller (its Principal) must share one hidden
 * class across credentials and callers: a class per object, as a spread copy with more fields gets, turns every read
 * of their fields megamorphic, which at 10,000 credentials cost the scale benchmark microseconds per request.
 */
t.test('the tokens and callers of many credentials share one hidden class each', async (t) => {
  const names = Array.from({ length: sellers }, (_, i) => `seller-${i}`)
  const h = await build(t, {
    config: (base) => ({
      ...base,
      credentials: Object.fromEntries(names.map((name, i) => [name, { api: 'sp-api', region: 'na', app: 'lwa/apps/sp', secret: `lwa/sellers/${i}` }])),
      policy: [{ subject: 'system:serviceaccount:team:*', credentials: ['seller-*'] }],
    }),
    secrets: (base) => ({ ...base, ...Object.fromEntries(names.map((_, i) => [`lwa/sellers/${i}`, { refresh_token: `Atzr|seller-${i}` }])) }),
  })
  names.forEach((_, i) => h.lwa.addRefreshToken({ refreshToken: `Atzr|seller-${i}`, clientId: fixtures.spClient.clientId }))
  const jwts = await Promise.all(names.map((_, i) => h.jwt({ claims: { sub: `system:serviceaccount:team:caller-${i}` } })))
  for (const [i, name] of names.entries()) {
    const res = await h.getToken(name, jwts[i])
    t.equal(res.statusCode, 200, name)
  }
  const tokens = names.map((name) => h.services.tokens.cachedToken(name, 0))
  const principals = jwts.map((jwt) => h.services.authenticator.known(`Bearer ${jwt}`))
  t.equal(tokens.filter((token) => token && sameMap(token, tokens[0] as object)).length, sellers, 'every IssuedToken')
  t.equal(principals.filter((p) => p && sameMap(p, principals[0] as object)).length, sellers, 'every Principal')
  // The memo is a slot of each object (declared in its literal) yet never leaves with a copy or a JSON text.
  for (const held of [tokens[0], principals[0]] as Array<{ memo: object }>) {
    t.ok(held.memo, 'a memo')
    t.notOk(Object.keys(held).includes('memo'), 'not enumerable')
    t.equal(({ ...held } as { memo?: object }).memo, undefined, 'not in a spread copy')
  }
})
