import t from 'tap'
import { build } from '../helper.js'

t.test('a caller with a valid JWT gets an Ads token with the Ads headers', async (t) => {
  const h = await build(t)
  const res = await h.getToken('ads-us', await h.jwt())
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body.access_token, /^Atza\|/)
  t.ok(h.lwa.issued(body.access_token), 'the token is one the LWA emulator minted')
  t.equal(body.token_type, 'bearer')
  t.equal(body.expires_in, 3600)
  t.equal(body.expires_at, new Date(h.clock.now() + 3600_000).toISOString())
  t.same(body.headers, {
    Authorization: `Bearer ${body.access_token}`,
    'Amazon-Advertising-API-ClientId': 'amzn1.application-oa2-client.ads0001',
    'Amazon-Advertising-API-Scope': '2502259796',
  })
  t.match(body, { credential: 'ads-us', api: 'ads', region: 'na' })
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(h.lwa.callCount({ grantType: 'refresh_token' }), 1)
})
