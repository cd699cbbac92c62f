import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { mintJwt } from '../helper.js'
import { processFixture, startBroker, waitFor } from '../support/broker-process.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const platform = { claims: { sub: 'system:serviceaccount:platform:all' } }
const newcomer = { claims: { sub: 'system:serviceaccount:newteam:app' } }
const grantNewcomer = (c: Record<string, unknown>): Record<string, unknown> => ({
  ...c, policy: [...(c.policy as unknown[]), { subject: 'system:serviceaccount:newteam:*', credentials: ['ads-us'] }],
})

/** A broker process whose config the test rewrites; `configPath` is the path the broker was started with. */
async function running(t: Test, configPath: string) {
  const run = startBroker(configPath)
  t.teardown(() => { run.child.kill('SIGKILL') })
  const base = await run.listening()
  const get = async (jwt: string) => (await fetch(`${base}/token?credential=ads-us`, { headers: { authorization: `Bearer ${jwt}` } })).status
  const logged = (pattern: RegExp): boolean => run.output().stdout.split('\n').some((line) => pattern.test(line))
  return { run, base, get, logged }
}

t.test('SIGHUP with a valid new policy grants a caller access, with no failed request under load', async (t) => {
  const fixture = await processFixture(t)
  const { run, get, logged } = await running(t, fixture.configPath)
  const [jwt, newJwt] = await Promise.all([mintJwt(fixture.keys, platform), mintJwt(fixture.keys, newcomer)])
  t.equal(await get(newJwt), 403, 'not allowed yet')
  let loading = true
  const statuses: number[] = []
  const load = Promise.all(Array.from({ length: 4 }, async () => {
    while (loading) statuses.push(await get(jwt))
  }))
  await new Promise((r) => setTimeout(r, 200))
  writeFileSync(fixture.configPath, JSON.stringify(grantNewcomer(fixture.config)))
  run.child.kill('SIGHUP')
  await waitFor(() => logged(/"msg":"config reloaded"/), 'the reload')
  t.equal(await get(newJwt), 200, 'allowed after the reload, without a restart')
  await new Promise((r) => setTimeout(r, 200))
  loading = false
  await load
  t.ok(statuses.length > 20, `load ran throughout (${statuses.length} requests)`)
  t.same([...new Set(statuses)], [200], 'no request failed')
})

t.test('SIGHUP with an invalid file changes nothing and says why, naming the field and the file', async (t) => {
  const fixture = await processFixture(t)
  const { run, get, logged } = await running(t, fixture.configPath)
  const jwt = await mintJwt(fixture.keys, platform)
  t.equal(await get(jwt), 200)
  writeFileSync(fixture.configPath, JSON.stringify({ ...grantNewcomer(fixture.config), rateLimit: { max: 'lots' } }))
  run.child.kill('SIGHUP')
  await waitFor(() => logged(/config reload refused/), 'the refusal')
  t.ok(logged(/rateLimit\.max/), 'the field is named')
  t.ok(logged(new RegExp(fixture.configPath.replace(/[/.]/g, '\\$&'))), 'the file is named')
  t.equal(await get(jwt), 200, 'the old config keeps serving')
  t.equal(await get(await mintJwt(fixture.keys, newcomer)), 403, 'nothing of the new file was applied')
  writeFileSync(fixture.configPath, JSON.stringify({ ...fixture.config, listen: { host: '127.0.0.1', port: 1 } }))
  run.child.kill('SIGHUP')
  await waitFor(() => logged(/listen\.port cannot change without a restart/), 'a restart-only change refused')
  t.equal(await get(jwt), 200)
})

t.test('a ConfigMap update (the ..data symlink swapped) is picked up without a signal', async (t) => {
  const fixture = await processFixture(t)
  // The layout the kubelet writes: broker.yaml -> ..data/broker.yaml, ..data -> ..<timestamp>.
  const mounted = join(fixture.dir, 'mounted')
  mkdirSync(join(mounted, '..v1'), { recursive: true })
  const withSecrets = (c: Record<string, unknown>) => ({ ...c, secrets: { backend: 'file', path: join(fixture.dir, 'secrets.json') } })
  writeFileSync(join(mounted, '..v1', 'broker.yaml'), JSON.stringify(withSecrets(fixture.config)))
  symlinkSync('..v1', join(mounted, '..data'))
  symlinkSync('..data/broker.yaml', join(mounted, 'broker.yaml'))
  const { get, logged } = await running(t, join(mounted, 'broker.yaml'))
  const newJwt = await mintJwt(fixture.keys, newcomer)
  t.equal(await get(newJwt), 403)
  mkdirSync(join(mounted, '..v2'))
  writeFileSync(join(mounted, '..v2', 'broker.yaml'), JSON.stringify(withSecrets(grantNewcomer(fixture.config))))
  symlinkSync('..v2', join(mounted, '..data_tmp'))
  renameSync(join(mounted, '..data_tmp'), join(mounted, '..data'))
  await waitFor(() => logged(/"msg":"config reloaded"/), 'the reload')
  t.equal(await get(newJwt), 200)
})
