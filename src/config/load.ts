import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { toCredential } from './credentials.js'
import { ConfigSchema, type BrokerConfig, type RawConfig } from './schema.js'
import { ConfigError, type ConfigProblem } from './config-error.js'
import { checkConfig } from './check.js'
import { flatCopy } from '../strings.js'

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
const validate = ajv.compile<RawConfig>(ConfigSchema)

/** Environment variables that override the file (12-factor style), and nothing else. */
export interface ConfigEnv {
  LWA_BROKER_HOST?: string | undefined
  LWA_BROKER_PORT?: string | undefined
  LWA_BROKER_OPS_HOST?: string | undefined
  LWA_BROKER_OPS_PORT?: string | undefined
  LWA_BROKER_LOG_LEVEL?: string | undefined
}

/** Reads, validates and freezes the config file. Throws ConfigError naming the file and fields. */
export function loadConfig(file: string, env: ConfigEnv = {}): BrokerConfig {
  const path = resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(path, [{
      field: '',
      message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    }])
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : ''
    throw new ConfigError(path, [{ field: '', message: `not valid YAML${where}` }])
  }
  return parseConfig(raw, path, env)
}

/** Validates an already-parsed config object; `path` is used in messages and to resolve relative files. */
export function parseConfig(raw: unknown, path: string, env: ConfigEnv = {}): BrokerConfig {
  const config = copyOf(raw ?? {}, new Map()) as Record<string, unknown>
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(path, [{ field: '', message: 'must be a YAML mapping' }])
  }
  applyEnv(config, env)
  if (!validate(config)) throw new ConfigError(path, (validate.errors ?? []).map(describe))
  const problems = checkConfig(config)
  if (problems.length > 0) throw new ConfigError(path, problems)
  resolvePaths(config, dirname(path))
  const credentials = Object.fromEntries(
    Object.entries(config.credentials).map(([name, raw]) => [name, toCredential(raw)]),
  )
  return deepFreeze({ ...config, credentials })
}

function applyEnv(config: Record<string, unknown>, env: ConfigEnv): void {
  if (env.LWA_BROKER_LOG_LEVEL) config.logLevel = env.LWA_BROKER_LOG_LEVEL
  applyListenEnv(config, 'listen', env.LWA_BROKER_HOST, env.LWA_BROKER_PORT)
  applyListenEnv(config, 'ops', env.LWA_BROKER_OPS_HOST, env.LWA_BROKER_OPS_PORT)
}

function applyListenEnv(
  config: Record<string, unknown>,
  section: 'listen' | 'ops',
  host: string | undefined,
  port: string | undefined,
): void {
  if (!host && !port) return
  const current = config[section]
  // A section that is not a mapping is left for the schema to report, not merged into.
  if (current !== undefined && (current === null || typeof current !== 'object' || Array.isArray(current))) return
  const merged = { ...(current as object | undefined) } as Record<string, unknown>
  if (host) merged.host = host
  if (port) merged.port = Number(port)
  config[section] = merged
}

function describe(error: ErrorObject): ConfigProblem {
  const field = error.instancePath.split('/').slice(1).map(decodePointer).join('.')
  const child = (name: string): string => (field ? `${field}.${name}` : name)
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(error.params.additionalProperty)
      return field === 'credentials'
        ? { field: child(name), message: 'is not a valid credential name (letters, digits, ".", "_", "-"; up to 128)' }
        : { field: child(name), message: 'is not a known setting' }
    }
    case 'required':
      return { field: child(String(error.params.missingProperty)), message: 'is required' }
    case 'enum':
      return { field, message: `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}` }
    default:
      return { field, message: error.message ?? 'is invalid' }
  }
}

const decodePointer = (segment: string): string => segment.replace(/~1/g, '/').replace(/~0/g, '~')

function resolvePaths(config: RawConfig, base: string): void {
  if (config.secrets.path) config.secrets.path = resolve(base, config.secrets.path)
  for (const issuer of config.issuers) {
    if (issuer.jwks.file) issuer.jwks.file = resolve(base, issuer.jwks.file)
    if (issuer.sharedSecretFile) issuer.sharedSecretFile = resolve(base, issuer.sharedSecretFile)
    const k8s = issuer.jwks.kubernetes
    if (k8s?.caFile) k8s.caFile = resolve(base, k8s.caFile)
    if (k8s?.tokenFile) k8s.tokenFile = resolve(base, k8s.tokenFile)
  }
  const cache = config.cache
  if (cache.encryptionKeyFile) cache.encryptionKeyFile = resolve(base, cache.encryptionKeyFile)
  if (cache.passwordFile) cache.passwordFile = resolve(base, cache.passwordFile)
  if (cache.sentinel?.passwordFile) cache.sentinel.passwordFile = resolve(base, cache.sentinel.passwordFile)
  const webhook = config.lifecycle.webhook
  if (webhook?.keyFile) webhook.keyFile = resolve(base, webhook.keyFile)
  if (!['stdout', 'stderr'].includes(config.audit.destination)) {
    config.audit.destination = resolve(base, config.audit.destination)
  }
}

/**
 * A deep copy of the raw config (defaults and the environment are written into it) that keeps
 * each distinct string once: 10,000 credentials repeat a region, an api and their app's
 * secret id, ≈0.6 MB of copies. Each is kept as a flat copy: a YAML parser's string can be a
 * rope of its characters, which the config would hold for as long as it lives. What is not a
 * plain object or array is kept as it is.
 */
function copyOf(value: unknown, strings: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const known = strings.get(value)
    if (known !== undefined) return known
    const own = flatCopy(value)
    strings.set(own, own)
    return own
  }
  if (Array.isArray(value)) return value.map((item) => copyOf(item, strings))
  if (value === null || typeof value !== 'object') return value
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copyOf(item, strings)]))
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
