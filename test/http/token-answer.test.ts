import t from 'tap'
import type { CredentialConfig } from '../../src/config/index.js'
import { tokenAnswer } from '../../src/http/token-answer.js'
import { withMemo } from '../../src/memo.js'
import type { IssuedToken } from '../../src/tokens/index.js'

function issued(accessToken: string, api: CredentialConfig['api'], headers: Record<string, string>): IssuedToken {
  return withMemo({
    accessToken,
    tokenType: 'bearer',
    obtainedAtMs: 0,
    expiresAtMs: 3_600_000,
    clientId: 'amzn1.application-oa2-client.x',
    secretVersions: { app: 'v1', grant: undefined },
    credential: `cred-${api}`,
    config: { api, region: 'eu' } as CredentialConfig,
    headers,
    expiresAt: new Date(3_600_000).toISOString(),
    memo: undefined,
  })
}

/** What serialising the whole body on every request gives. */
const plain = (token: IssuedToken, expiresIn: number) => ({
  access_token: token.accessToken,
  token_type: token.tokenType,
  expires_in: expiresIn,
  expires_at: token.expiresAt,
  credential: token.credential,
  api: token.config.api,
  region: token.config.region,
  headers: token.headers,
})

t.test('the answer is the token response, token in every header that carries it, expires_in filled in per request', async (t) => {
  const ads = issued('Atza|IwEBIabc-_.123', 'ads', {
    Authorization: 'Bearer Atza|IwEBIabc-_.123',
    'Amazon-Advertising-API-ClientId': 'amzn1.application-oa2-client.x',
  })
  const sp = issued('Atza|IwEBIsp', 'sp-api', { 'x-amz-access-token': 'Atza|IwEBIsp' })
  for (const token of [ads, sp]) {
    for (const expiresIn of [3599, 61, 0]) {
      const text = tokenAnswer(token, expiresIn)
      t.same(JSON.parse(text), plain(token, expiresIn), `${token.config.api}, expires_in ${expiresIn}`)
      t.equal(text, JSON.stringify(plain(token, expiresIn)), 'byte for byte what JSON.stringify makes')
    }
  }
})

t.test('a token that JSON must escape is escaped (quotes, backslashes, control and private-use characters)', async (t) => {
  const odd = 'a"b\\c\u0001d\uE000e'
  const token = issued(odd, 'appstore', { Authorization: `Bearer ${odd}` })
  t.same(JSON.parse(tokenAnswer(token, 42)), plain(token, 42))
})

t.test('a profile\'s answer carries its Scope in place of the fixed one, and leaves the default answer as it was', async (t) => {
  const token = issued('Atza|IwEBIads', 'ads', {
    Authorization: 'Bearer Atza|IwEBIads',
    'Amazon-Advertising-API-ClientId': 'amzn1.application-oa2-client.x',
    'Amazon-Advertising-API-Scope': '2502259796',
  })
  for (const profile of ['3316636565473405123', '1', '3316636565473405123']) {
    const expected = { ...plain(token, 60), headers: { ...token.headers, 'Amazon-Advertising-API-Scope': profile } }
    t.equal(tokenAnswer(token, 60, profile), JSON.stringify(expected), `profile ${profile}, byte for byte`)
  }
  t.equal(tokenAnswer(token, 60), JSON.stringify(plain(token, 60)), 'no profile: the fixed scope')
  const unscoped = issued('Atza|IwEBIads2', 'ads', { Authorization: 'Bearer Atza|IwEBIads2' })
  t.same(JSON.parse(tokenAnswer(unscoped, 5, '7')).headers, { Authorization: 'Bearer Atza|IwEBIads2', 'Amazon-Advertising-API-Scope': '7' })
})

t.test('a token keeps two templates whatever the profiles asked for, and a profile JSON must escape is escaped', async (t) => {
  const token = issued('Atza|IwEBImany', 'ads', { Authorization: 'Bearer Atza|IwEBImany' })
  for (let i = 0; i < 2000; i++) {
    const expected = { ...plain(token, 1), headers: { ...token.headers, 'Amazon-Advertising-API-Scope': String(i) } }
    if (tokenAnswer(token, 1, String(i)) !== JSON.stringify(expected)) t.fail(`profile ${i}`)
  }
  tokenAnswer(token, 1)
  t.equal(Object.getOwnPropertySymbols(token.memo).length, 2, 'the default template and the one with a profile')
  t.same(JSON.parse(tokenAnswer(token, 1, 'a"b\\')).headers['Amazon-Advertising-API-Scope'], 'a"b\\')
})

t.test('tokens of one API share their template; a token JSON must escape has its own, and leaves the shared one as it was', async (t) => {
  const a = issued('Atza|IwEBIshareA', 'sp-api', { 'x-amz-access-token': 'Atza|IwEBIshareA' })
  const b = issued('Atza|IwEBIshareB', 'sp-api', { 'x-amz-access-token': 'Atza|IwEBIshareB' })
  const odd = issued('Atza|"odd', 'sp-api', { 'x-amz-access-token': 'Atza|"odd' })
  for (const token of [a, odd, b]) t.equal(tokenAnswer(token, 7), JSON.stringify(plain(token, 7)), token.accessToken)
  const [templateA, templateB, templateOdd] = [a, b, odd].map((token) => token.memo[Object.getOwnPropertySymbols(token.memo)[0] as symbol])
  t.equal(templateA, templateB, 'one template for both')
  t.not(templateOdd, templateA, 'the odd token has its own')
})

t.test('answers stay exact for tokens sharing their parts, and past the cap on shared parts', async (t) => {
  for (let i = 0; i < 100; i++) {
    const token = { ...issued(`Atza|IwEBI${i}`, 'sp-api', { 'x-amz-access-token': `Atza|IwEBI${i}` }), credential: `seller-${i}` }
    const own = withMemo({ ...token, expiresAt: new Date(3_600_000 + i * 1000).toISOString(), memo: undefined })
    t.equal(tokenAnswer(own, 60 + i), JSON.stringify(plain(own, 60 + i)), `token ${i}: its own expiry and name`)
  }
  // 100 sets of header names, more than the 64 kept: the ones past the cap get parts of their own.
  for (let i = 0; i < 100; i++) {
    const token = issued(`Atza|IwEBIh${i}`, 'appstore', { [`x-test-${i}`]: `Atza|IwEBIh${i}` })
    t.equal(tokenAnswer(token, i), JSON.stringify(plain(token, i)), `header set ${i}`)
  }
})
