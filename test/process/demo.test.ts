import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { childEnv } from '../support/child-env.js'

t.test('npm run demo prints a token obtained through the whole path and a curl line', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/demo/run.ts', '--once'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...childEnv(), LWA_BROKER_PORT: '0', LWA_BROKER_OPS_PORT: '0' },
    timeout: 30_000,
  })
  t.match(stdout, 'GET /token?credential=ads-us -> HTTP 200 (LWA calls so far: 1)')
  t.match(stdout, /"access_token": "Atza\|/)
  t.match(stdout, /"Amazon-Advertising-API-Scope": "2502259796"/)
  t.match(stdout, /curl -s -H 'Authorization: Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+' 'http:\/\/127\.0\.0\.1:\d+\/token\?credential=sp-acme-eu'/)
})

t.test('npm run demo -- --aws reads the secrets from the Secrets Manager emulator with the real SDK', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/demo/run.ts', '--once', '--aws'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...childEnv(), LWA_BROKER_PORT: '0', LWA_BROKER_OPS_PORT: '0' },
    timeout: 30_000,
  })
  // Each of the demo's three secrets read once, when readiness is first evaluated; the token request is served from that.
  t.match(stdout, /secrets: AWS Secrets Manager emulator at http:\/\/127\.0\.0\.1:\d+, read with the real AWS SDK \(GetSecretValue calls: 3\)/)
  t.match(stdout, 'GET /token?credential=ads-us -> HTTP 200 (LWA calls so far: 1)')
})
