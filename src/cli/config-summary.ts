import type { BrokerConfig, IssuerConfig } from '../config/index.js'
import { printable } from './io.js'

/** What check-config reports about a valid config: its shape, never a value that could be secret (there are none). */
export interface ConfigSummary {
  mode: BrokerConfig['mode']
  listen: string
  secrets: { backend: BrokerConfig['secrets']['backend']; where: string }
  issuers: { issuer: string; keySource: KeySource; algorithms: string[] }[]
  credentials: { total: number; byApi: Record<string, number> }
  policy: { rules: number; adminRules: number }
}

export type KeySource = 'inline' | 'file' | 'uri' | 'discovery' | 'kubernetes' | 'shared-secret'

export function summarizeConfig(config: BrokerConfig): ConfigSummary {
  const byApi: Record<string, number> = {}
  for (const credential of Object.values(config.credentials)) byApi[credential.api] = (byApi[credential.api] ?? 0) + 1
  return {
    mode: config.mode,
    listen: `${config.listen.host}:${config.listen.port}`,
    secrets: { backend: config.secrets.backend, where: secretsWhere(config.secrets) },
    issuers: config.issuers.map((issuer) => ({
      issuer: issuer.issuer,
      keySource: keySource(issuer),
      algorithms: [...issuer.algorithms],
    })),
    credentials: { total: Object.keys(config.credentials).length, byApi },
    policy: { rules: config.policy.length, adminRules: config.policy.filter((rule) => rule.admin).length },
  }
}

/** The summary as the lines an operator reads after `check-config`. */
export function formatSummary(file: string, summary: ConfigSummary, overrides: string[]): string[] {
  const { secrets, issuers, credentials, policy } = summary
  const apis = Object.entries(credentials.byApi).map(([api, n]) => `${api} ${n}`).join(', ')
  return [
    `config OK: ${printable(file)}`,
    ...(overrides.length > 0 ? [`environment overrides applied: ${overrides.join(', ')}`] : []),
    `mode: ${summary.mode} (listen ${printable(summary.listen)})`,
    `secrets: ${secrets.backend} (${printable(secrets.where)})`,
    `issuers: ${issuers.length}`,
    ...issuers.map((i) => `  - ${printable(i.issuer)}: keys from ${i.keySource}; ${i.algorithms.join(', ')}`),
    `credentials: ${credentials.total}${apis ? ` (${apis})` : ''}`,
    `policy: ${policy.rules} rule${policy.rules === 1 ? '' : 's'}`
      + `${policy.adminRules > 0 ? ` (${policy.adminRules} admin)` : ''}`,
  ]
}

function secretsWhere(secrets: BrokerConfig['secrets']): string {
  if (secrets.backend === 'file') return `${secrets.path ?? '?'}; for local use only`
  const region = secrets.region ? `region ${secrets.region}` : 'region from the AWS SDK'
  return secrets.endpoint ? `${region}, endpoint ${secrets.endpoint}` : region
}

function keySource(issuer: IssuerConfig): KeySource {
  const { jwks } = issuer
  if (issuer.sharedSecretFile !== undefined) return 'shared-secret'
  if (jwks.keys) return 'inline'
  if (jwks.file) return 'file'
  if (jwks.uri) return 'uri'
  if (jwks.kubernetes) return 'kubernetes'
  // check.ts guarantees exactly one source, so what is left is discovery.
  return 'discovery'
}
