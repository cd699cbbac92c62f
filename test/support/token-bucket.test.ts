import t from 'tap'
import { TokenBuckets } from './token-bucket.js'

t.test('a bucket starts full, empties, and refills at the rate up to the burst', async (t) => {
  const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3 })
  const taken = [0, 0, 0, 0].map(() => buckets.take('a', 0))
  t.same(taken, [true, true, true, false])
  t.equal(buckets.take('b', 0), true, 'keys are independent')
  t.equal(buckets.available('a', 250), 0.5)
  t.equal(buckets.take('a', 250), false)
  t.equal(buckets.take('a', 500), true)
  t.equal(buckets.available('a', 100_000), 3, 'never beyond the burst')
})

t.test('one a minute gives a whole token after exactly 60 s', async (t) => {
  const buckets = new TokenBuckets({ ratePerSecond: 1 / 60, burst: 1 })
  t.equal(buckets.take('app', 0), true)
  t.equal(buckets.take('app', 59_999), false)
  t.equal(buckets.take('app', 60_000), true)
  t.equal(buckets.take('app', 119_999), false)
  t.equal(buckets.take('app', 120_000), true)
})

t.test('a clock that goes backwards adds nothing', async (t) => {
  const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 })
  t.equal(buckets.take('k', 10_000), true)
  t.equal(buckets.take('k', 5_000), false)
  t.equal(buckets.take('k', 10_999), false, 'refill counts from the latest time seen')
  t.equal(buckets.take('k', 11_000), true)
})

t.test('nonsense plans are a TypeError at construction', async (t) => {
  t.throws(() => new TokenBuckets({ ratePerSecond: 0, burst: 1 }), TypeError)
  t.throws(() => new TokenBuckets({ ratePerSecond: 1, burst: 0 }), TypeError)
  t.throws(() => new TokenBuckets({ ratePerSecond: Number.NaN, burst: 1 }), { message: /ratePerSecond/ })
})
