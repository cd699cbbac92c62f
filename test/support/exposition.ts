// What a real /metrics scrape of the broker exports, for the tests that check deploy/
// artefacts (alert rules, the Grafana dashboard) against it. `scrapeMetrics` is the one
// place that fetches /metrics: if the listener serving it changes, only that function does.
import type t from 'tap'
import { parseConfig } from '../../src/config/index.js'
import { build, fixtures, type BuildOptions, type Harness } from '../helper.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

export interface Exported {
  /** `# TYPE` family name -> type. */
  families: Map<string, string>
  /** Every name a query can select (sample names), -> the family's type. */
  queryable: Map<string, string>
  /** Sample name -> label name -> values seen. */
  labels: Map<string, Map<string, Set<string>>>
}

/** The names a family's samples carry in the text format (prom-client writes counters with `_total`; OpenMetrics-style TYPE lines leave it off). */
export function sampleNames(family: string, type: string): string[] {
  switch (type) {
    case 'counter':
      return [family.endsWith('_total') ? family : `${family}_total`]
    case 'histogram':
      return [`${family}_bucket`, `${family}_sum`, `${family}_count`]
    case 'summary':
      return [family, `${family}_sum`, `${family}_count`]
    default:
      return [family]
  }
}

export function parseExposition(t: Test, text: string): Exported {
  const families = new Map<string, string>()
  const queryable = new Map<string, string>()
  const labels = new Map<string, Map<string, Set<string>>>()
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type?.[1] && type[2]) {
      families.set(type[1], type[2])
      for (const name of sampleNames(type[1], type[2])) queryable.set(name, type[2])
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line)
    if (!t.ok(sample, `a sample line: ${line.slice(0, 80)}`) || !sample?.[1]) continue
    const name = sample[1]
    const byLabel = labels.get(name) ?? new Map<string, Set<string>>()
    labels.set(name, byLabel)
    for (const [, label, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (!label || value === undefined) continue
      const values = byLabel.get(label) ?? new Set<string>()
      values.add(value)
      byLabel.set(label, values)
    }
  }
  // A sample whose family had no TYPE line of its own (e.g. `_total` under a TYPE without it).
  for (const name of labels.keys()) {
    if (queryable.has(name)) continue
    const family = [...families].find(([f, ty]) => sampleNames(f, ty).includes(name) || f === name.replace(/_total$/, ''))
    queryable.set(name, family?.[1] ?? 'untyped')
  }
  return { families, queryable, labels }
}

/** A counter, or a histogram's or summary's cumulative series: what rate() and increase() take. */
export function isCumulative(exported: Exported, name: string): boolean {
  const type = exported.queryable.get(name)
  return type === 'counter' || ((type === 'histogram' || type === 'summary') && /_(bucket|sum|count)$/.test(name))
}

export function labelsOf(exported: Exported, name: string): Set<string> {
  const family = exported.families.get(name)
  // A histogram named by its family (as prose does): the labels of its series.
  if (family && !exported.queryable.has(name)) {
    return new Set(sampleNames(name, family).flatMap((n) => [...labelsOf(exported, n)]))
  }
  const names = new Set(exported.labels.get(name)?.keys() ?? [])
  if (name.endsWith('_bucket')) names.add('le')
  return names
}

/** The exposition text Prometheus scrapes from this broker: GET /metrics of its ops listener. */
export async function scrapeMetrics(t: Test, h: Harness): Promise<string> {
  const res = await h.ops.inject('/metrics')
  t.equal(res.statusCode, 200)
  return res.body
}

/**
 * The app, with a success, a rejection, a client secret served from AWSPENDING, a missing
 * secret and a bad JWT behind it, so every labelled series exists. `options` reach `build`
 * (e.g. `redis`, for the metrics only a shared cache has).
 */
export async function scrapeBroker(t: Test, options: BuildOptions = {}): Promise<{ h: Harness; exported: Exported }> {
  const change = options.config ?? ((c) => c)
  // An app secret whose expiry is recorded (the expiry gauge has a series), and a notification queue (never polled here).
  const expiring = (s: Record<string, unknown>) => ({ ...s, 'lwa/ads-us': { ...(s['lwa/ads-us'] as object), client_secret_expires_at: '2027-06-01T00:00:00.000Z' } })
  const apps = { notifications: { queueUrl: 'http://127.0.0.1:9/123456789012/lwa-broker-app-secrets', region: 'us-east-1' } }
  const h = await build(t, {
    secretsBackend: 'aws', ...options, secrets: (s) => expiring(options.secrets?.(s) ?? s),
    config: (c) => ({ ...change(c), catalogue: { namePrefix: 'lwa-broker/sellers/' }, apps }),
  })
  const platform = await h.jwt({ claims: { sub: 'system:serviceaccount:platform:all' } })
  t.equal((await h.getToken('ads-us', platform)).statusCode, 200, 'a token is issued')
  t.equal((await h.getToken('ads-us', platform)).statusCode, 200, 'and served from the cache')
  h.sm?.deleteSecret('lwa/appstore')
  t.equal((await h.getToken('appstore-main', platform)).statusCode, 502, 'a missing secret: misconfigured')
  const rotated = 'amzn1.oa2-cs.v1.sp-secret-0002'
  h.logs.secrets.add(rotated)
  h.sm?.putSecret('lwa/apps/sp', { client_id: fixtures.spClient.clientId, client_secret: rotated }, { stages: ['AWSPENDING'] })
  h.lwa.setClientSecrets(fixtures.spClient.clientId, [rotated])
  t.equal((await h.getToken('sp-notifications', platform)).statusCode, 200, 'a rotation under way: served from AWSPENDING')
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  t.equal((await h.getToken('sp-acme-eu', platform)).statusCode, 502, 'a revoked grant is rejected')
  t.equal((await h.getToken('ads-us', 'not-a-jwt')).statusCode, 401, 'a bad JWT is refused')
  t.equal((await h.app.inject('/healthz')).statusCode, 200)
  // An SP-API seller's authorization, as onboarding tracks it: the expiry gauge has a series.
  h.services.lifecycle.trackAuthorizations(() => [{ credential: 'sp-acme-eu', authorizedAtMs: h.clock.now() - 340 * 86_400_000 }])
  h.sm?.putSecret('lwa-broker/sellers/ads-us', { refresh_token: fixtures.adsRefreshToken }, { tags: { 'lwa-broker:credential': 'ads-us', 'lwa-broker:api': 'ads', 'lwa-broker:region': 'na' } })
  t.match(await h.services.discovery?.refresh(), { secrets: 1 }, 'a listing (its secret clashes with the config file\'s ads-us)')
  h.sm?.failNext({ kind: 'error', type: 'AccessDeniedException', status: 400 }, 1, { operation: 'ListSecrets' })
  await t.rejects(h.services.discovery!.refresh(), 'a listing that failed')
  t.match(h.services.reload(() => parseConfig({}, 'broker.yaml')), { result: 'invalid' }, 'an invalid config refused')
  t.match(h.services.reload(() => ({ ...h.config, listen: { ...h.config.listen, port: 1 } })), { result: 'refused' }, 'a restart-only change refused')
  t.match(h.services.reload(() => h.config), { result: 'applied' }, 'a reload applied')
  await h.services.tokens.settled()
  return { h, exported: parseExposition(t, await scrapeMetrics(t, h)) }
}
