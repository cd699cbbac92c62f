import { join } from 'node:path'
import t from 'tap'
import { processFixture, startBroker } from '../support/broker-process.js'
import { mintJwt } from '../helper.js'

t.test('a bad config stops start-up with exit 2 and a message naming the file and field', async (t) => {
  const dir = t.testdir({ 'broker.yaml': 'listen: { port: 8787 }\nsecrets: { backend: file, path: ./s.json }\nissuers: []\ncredentials: { x: { api: ads, region: mars, secret: s } }\n' })
  const run = startBroker(join(dir, 'broker.yaml'))
  const [code] = await run.exited
  t.equal(code, 2)
  const { stderr } = run.output()
  t.match(stderr, join(dir, 'broker.yaml'))
  t.match(stderr, 'credentials.x.region: must be one of: na, eu, fe')
  t.match(stderr, 'issuers: must NOT have fewer than 1 items')
  t.notMatch(stderr, /at .*\.ts:\d+/, 'no stack trace')
})

t.test('a missing config file names the path', async (t) => {
  const run = startBroker('/nonexistent/broker.yaml')
  const [code] = await run.exited
  t.equal(code, 2)
  t.match(run.output().stderr, '/nonexistent/broker.yaml')
  t.match(run.output().stderr, 'cannot read the file (ENOENT)')
})

t.test('the process serves a token, warns loudly about the file backend, and exits 0 on SIGTERM', async (t) => {
  const { lwa, keys, configPath } = await processFixture(t)
  const run = startBroker(configPath)
  t.teardown(() => { run.child.kill('SIGKILL') })

  const address = await run.listening()
  t.match(run.output().stdout, /FOR LOCAL USE ONLY/, 'the file backend warning is loud')
  const res = await fetch(`${address}/token?credential=ads-us`, { headers: { authorization: `Bearer ${await mintJwt(keys)}` } })
  t.equal(res.status, 200)
  const body = await res.json() as { access_token: string }
  t.ok(lwa.issued(body.access_token))

  run.child.kill('SIGTERM')
  const [code] = await run.exited
  t.equal(code, 0)
  t.match(run.output().stdout, /"log":"audit".*"event":"token\.issued"/, 'the audit trail goes to stdout by default')
  t.notMatch(run.output().stdout, /Atza\||Atzr\||eyJ/, 'no token or JWT in the process log')
})
