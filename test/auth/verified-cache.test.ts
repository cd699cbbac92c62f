// The verified-token cache's bound: what it evicts, and when an entry is gone for its own expiry.
import t from 'tap'
import { VerifiedTokenCache } from '../../src/auth/verified-cache.js'
import { withMemo } from '../../src/memo.js'
import type { Principal } from '../../src/auth/index.js'

const caller = (subject: string): Principal =>
  withMemo({ issuer: 'https://a.example', subject, claims: {}, expiresAtMs: 0, issuedAtMs: undefined, memo: undefined })

t.test('the least recently used entry goes first; one used lately stays however many come after', async (t) => {
  const cache = new VerifiedTokenCache(4)
  for (const key of ['a', 'b', 'c', 'd']) cache.set(key, caller(key), 1000)
  t.equal(cache.get('a', 0)?.subject, 'a', 'a, the oldest, used')
  cache.set('e', caller('e'), 1000)
  t.equal(cache.get('b', 0), undefined, 'b went: the least recently used')
  t.equal(cache.get('a', 0)?.subject, 'a', 'a stayed')
  t.equal(cache.size, 4)
  const big = new VerifiedTokenCache(100)
  big.set('hot', caller('hot'), 1000)
  for (let i = 0; i < 1000; i++) {
    big.set(`cold-${i}`, caller(`cold-${i}`), 1000)
    if (i % 40 === 0) t.ok(big.get('hot', 0), `hot, used every 40 insertions, still there at ${i}`)
  }
  t.equal(big.get('cold-0', 0), undefined, 'the cold ones went in their turn')
  t.equal(big.size, 100)
})

t.test('an entry is gone once its time is up, and maxEntries 0 keeps nothing', async (t) => {
  const cache = new VerifiedTokenCache(4)
  cache.set('a', caller('a'), 1000)
  t.ok(cache.get('a', 999))
  t.equal(cache.get('a', 1000), undefined)
  t.equal(cache.size, 0, 'and it no longer takes a place')
  const none = new VerifiedTokenCache(0)
  none.set('a', caller('a'), 1000)
  t.equal(none.get('a', 0), undefined)
})
