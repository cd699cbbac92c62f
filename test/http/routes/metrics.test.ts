import t from 'tap'
import { build, fixtures, type Harness, type MintOptions } from '../../helper.js'

const platform: MintOptions = { claims: { sub: 'system:serviceaccount:platform:all' } }

/** Parses the Prometheus text format (values as Go ParseFloat reads them: NaN in any case) into `name{labels}` -> value, failing on any malformed line. */
function parse(t: Parameters<Parameters<typeof import('tap').test>[0]>[0], text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/.exec(line)
    if (!t.ok(match, `a valid sample line: ${line.slice(0, 80)}`) || !match) continue
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]))
  }
  return samples
}

async function scrape(t: Parameters<typeof parse>[0], h: Harness): Promise<Map<string, number>> {
  const res = await h.ops.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  // Sent as the chunks it was written in: the length announced is the bytes that came.
  t.equal(Number(res.headers['content-length']), res.rawPayload.length)
  return parse(t, res.body)
}

const value = (samples: Map<string, number>, key: string): number => samples.get(key) ?? 0

t.test('/metrics parses as Prometheus text and its counters move as requests happen', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  const before = await scrape(t, h)
  t.ok([...before.keys()].some((k) => k.startsWith('lwa_broker_process_cpu_user_seconds_total')), 'default process metrics are there')

  const jwt = await h.jwt(platform)
  await h.getToken('ads-us', jwt)
  await h.getToken('ads-us', jwt)
  await h.getToken('nope-unknown', jwt)
  await h.getToken('ads-us', 'garbage')
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  await h.getToken('sp-acme-eu', jwt)
  const after = await scrape(t, h)

  t.equal(value(after, 'lwa_broker_http_requests_total{route="/token",method="GET",status="200"}'), 2)
  t.equal(value(after, 'lwa_broker_http_requests_total{route="/token",method="GET",status="401"}'), 1)
  t.equal(value(after, 'lwa_broker_tokens_issued_total{credential="ads-us",outcome="issued"}'), 2)
  t.equal(value(after, 'lwa_broker_tokens_issued_total{credential="(unknown)",outcome="unknown_credential"}'), 1, 'unknown names are not labels')
  t.equal(value(after, 'lwa_broker_tokens_issued_total{credential="sp-acme-eu",outcome="credential_rejected"}'), 1)
  t.equal(value(after, 'lwa_broker_token_cache_lookups_total{credential="ads-us",result="miss"}'), 1)
  t.equal(value(after, 'lwa_broker_token_cache_lookups_total{credential="ads-us",result="hit"}'), 1)
  t.equal(value(after, 'lwa_broker_lwa_requests_total{credential="ads-us",grant="refresh_token",result="ok"}'), 1)
  t.equal(value(after, 'lwa_broker_lwa_requests_total{credential="sp-acme-eu",grant="refresh_token",result="invalid_grant"}'), 1)
  t.equal(value(after, 'lwa_broker_lwa_request_duration_seconds_count{grant="refresh_token"}'), 2)
  t.equal(value(after, 'lwa_broker_secrets_manager_requests_total{operation="GetSecretValue",result="ok"}'), 3)
  t.equal(value(after, 'lwa_broker_jwt_failures_total{reason="malformed_token"}'), 1)
  t.equal(value(after, 'lwa_broker_credential_health{credential="ads-us",state="healthy"}'), 1)
  t.equal(value(after, 'lwa_broker_credential_health{credential="sp-acme-eu",state="rejected"}'), 1)
  t.equal(value(after, 'lwa_broker_credential_health{credential="sp-acme-eu",state="healthy"}'), 0)
  t.equal(value(after, 'lwa_broker_token_expiry_seconds{credential="ads-us"}'), 3600)
  t.equal(value(after, 'lwa_broker_secret_stale{secret="lwa/ads-us"}'), 0)

  h.clock.advance(600_000)
  t.equal(value(await scrape(t, h), 'lwa_broker_token_expiry_seconds{credential="ads-us"}'), 3000, 'expiry counts down on the broker\'s clock')
})

t.test('a Secrets Manager failure shows as a stale secret and a failed call', async (t) => {
  const h = await build(t, { secretsBackend: 'aws' })
  await h.getToken('ads-us', await h.jwt(platform))
  h.sm!.setFault({ kind: 'error', type: 'ThrottlingException' })
  h.clock.advance(3600_000)
  await h.getToken('ads-us', await h.jwt(platform))
  await h.services.tokens.settled()
  const { CachingSecretStore } = await import('../../../src/secrets/index.js')
  await (h.secretStore as InstanceType<typeof CachingSecretStore>).settled()
  const samples = await scrape(t, h)
  t.equal(value(samples, 'lwa_broker_secret_stale{secret="lwa/ads-us"}'), 1)
  t.equal(value(samples, 'lwa_broker_secrets_manager_requests_total{operation="DescribeSecret",result="ThrottlingException"}'), 1)
})

t.test('no label value carries a secret, a token, or caller-supplied text', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platform)
  await h.getToken('ads-us', jwt)
  await h.getToken('evil-name-from-caller', jwt)
  await h.app.inject({ url: '/no/such/path?x=1' })
  const text = (await h.ops.inject('/metrics')).body
  t.notMatch(text, /Atz[ar]\||eyJ/, 'no token or JWT')
  t.notMatch(text, fixtures.adsClient.clientSecret)
  t.notMatch(text, 'evil-name-from-caller')
  t.notMatch(text, '/no/such/path')
  t.match(text, 'route="unmatched"')
})
