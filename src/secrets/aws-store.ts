import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager'
import { noEvents, type BrokerEvents } from '../observability/events.js'
import {
  SecretError, parseSecretString, type CreatedSecret, type NewSecretOptions, type SecretStage, type SecretValue,
  type VersionedSecretBackend,
} from './secret-store.js'

export interface AwsSecretStoreOptions {
  /** Unset: the SDK's own resolution (AWS_REGION, profile, instance metadata). */
  region?: string
  /** Unset: the regional endpoint (or AWS_ENDPOINT_URL_SECRETS_MANAGER). */
  endpoint?: string
  /** Unset: the SDK's default chain, so IRSA, Pod Identity and instance roles need no config. */
  credentials?: SecretsManagerClientConfig['credentials']
  /** SDK attempts per call, first try included. */
  maxAttempts?: number
  /** Per HTTP attempt. */
  requestTimeoutMs?: number
  events?: BrokerEvents
}

// Without a deadline a black-holed connection would pin the cache's single-flight check forever.
const REQUEST_TIMEOUT_MS_DEFAULT = 5_000
const CONNECTION_TIMEOUT_MS = 2_000
// PutSecretValue rejects a ClientRequestToken outside this range; catch it here, not in production.
const VERSION_ID_LENGTH_MIN = 32
const VERSION_ID_LENGTH_MAX = 64

/** The one way this code base builds an SDK client (the broker's store, bulk import): every attempt has a deadline. */
/**
 * The SDK's default logger has an `info` that does nothing, yet its logger middleware builds
 * a redacted copy of every answer for it (`logger?.info?.(…)` evaluates its argument when
 * `info` exists): a third of a 10,000-secret listing's CPU. The broker logs SDK calls itself.
 */
const sdkLogger = {
  debug: () => {}, warn: () => {}, error: () => {},
} as unknown as SecretsManagerClientConfig['logger']

export function createSecretsManagerClient(
  options: SecretsManagerClientConfig,
  requestTimeoutMs = REQUEST_TIMEOUT_MS_DEFAULT,
): SecretsManagerClient {
  return new SecretsManagerClient({
    logger: sdkLogger,
    ...options,
    requestHandler: {
      requestTimeout: requestTimeoutMs, connectionTimeout: CONNECTION_TIMEOUT_MS, throwOnRequestTimeout: true,
    },
  })
}

/** Secrets Manager through the v3 SDK. Errors become SecretError by their AWS name, never by message text. */
export class AwsSecretStore implements VersionedSecretBackend {
  private readonly client: SecretsManagerClient
  private readonly events: BrokerEvents

  constructor(options: AwsSecretStoreOptions = {}) {
    const { requestTimeoutMs = REQUEST_TIMEOUT_MS_DEFAULT, events = noEvents, ...sdkOptions } = options
    this.events = events
    this.client = createSecretsManagerClient(sdkOptions, requestTimeoutMs)
  }

  async get(secretId: string, stage: SecretStage = 'AWSCURRENT'): Promise<SecretValue> {
    const notFound = stage === 'AWSCURRENT' ? 'not found' : `has no ${stage} version`
    const out = await this.call(
      'GetSecretValue',
      () => this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage })),
      rethrowFor(secretId, notFound),
    )
    if (out.SecretString === undefined) {
      throw new SecretError('malformed', secretId, out.SecretBinary
        ? 'holds SecretBinary; a JSON SecretString is required'
        : 'has no SecretString')
    }
    return {
      id: secretId,
      versionId: requireVersionId(secretId, out.VersionId),
      fields: parseSecretString(secretId, out.SecretString),
    }
  }

  async currentVersionId(secretId: string): Promise<string> {
    const out = await this.call(
      'DescribeSecret',
      () => this.client.send(new DescribeSecretCommand({ SecretId: secretId })),
      rethrowFor(secretId, 'not found'),
    )
    const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))
    if (!current) throw new SecretError('not_found', secretId, 'has no AWSCURRENT version')
    return current[0]
  }

  async put(secretId: string, fields: Record<string, unknown>, versionId: string): Promise<SecretValue> {
    if (versionId.length < VERSION_ID_LENGTH_MIN || versionId.length > VERSION_ID_LENGTH_MAX) {
      throw new TypeError(
        `versionId must be ${VERSION_ID_LENGTH_MIN} to ${VERSION_ID_LENGTH_MAX} characters (a UUID fits)`,
      )
    }
    const text = JSON.stringify(fields)
    const out = await this.call(
      'PutSecretValue',
      () => this.client.send(new PutSecretValueCommand({
        SecretId: secretId, SecretString: text, ClientRequestToken: versionId,
      })),
      rethrowFor(secretId, 'not found'),
    )
    // Re-parsed so the value is exactly what a later GetSecretValue returns (undefined fields dropped).
    return {
      id: secretId,
      versionId: requireVersionId(secretId, out.VersionId),
      fields: parseSecretString(secretId, text),
    }
  }

  async create(name: string, fields: Record<string, unknown>, options: NewSecretOptions): Promise<CreatedSecret> {
    const text = JSON.stringify(fields)
    const out = await this.call('CreateSecret', () => this.client.send(new CreateSecretCommand({
      Name: name, SecretString: text, ClientRequestToken: options.versionId, KmsKeyId: options.kmsKeyId,
      Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })),
    })), rethrowFor(name, 'not found'))
    if (!out.ARN) throw new SecretError('unavailable', name, 'Secrets Manager answered without an ARN')
    const versionId = requireVersionId(name, out.VersionId)
    return { id: out.ARN, arn: out.ARN, versionId, fields: parseSecretString(name, text) }
  }

  async putStaged(secretId: string, fields: Record<string, unknown>, versionId: string, stage: 'AWSPENDING'):
    Promise<void> {
    await this.call('PutSecretValue', () => this.client.send(new PutSecretValueCommand({
      SecretId: secretId, SecretString: JSON.stringify(fields), ClientRequestToken: versionId, VersionStages: [stage],
    })), rethrowFor(secretId, 'not found'))
  }

  async moveStage(secretId: string, stage: SecretStage, move: { to?: string; from?: string }): Promise<void> {
    await this.call('UpdateSecretVersionStage', () => this.client.send(new UpdateSecretVersionStageCommand({
      SecretId: secretId, VersionStage: stage, MoveToVersionId: move.to, RemoveFromVersionId: move.from,
    })), rethrowFor(secretId, 'not found'))
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  /** Every SDK call goes through here, so each one is counted by operation and outcome. */
  private async call<T>(operation: string, send: () => Promise<T>, rethrow: (err: unknown) => never): Promise<T> {
    try {
      const out = await send()
      this.events.secretsCall(operation, 'ok')
      return out
    } catch (err) {
      this.events.secretsCall(operation, errorName(err).split(' ')[0] as string)
      return rethrow(err)
    }
  }
}

function requireVersionId(secretId: string, versionId: string | undefined): string {
  if (!versionId) throw new SecretError('unavailable', secretId, 'Secrets Manager answered without a VersionId')
  return versionId
}

/**
 * Maps an SDK failure to a SecretError. The AWS message is left out on purpose: it can carry
 * ARNs (AccessDenied names the role and resource); it stays reachable as `cause` for logs.
 */
function rethrowFor(secretId: string, notFound: string): (err: unknown) => never {
  return (err) => {
    const name = errorName(err)
    switch (name) {
      case 'ResourceNotFoundException':
        throw new SecretError('not_found', secretId, notFound, { cause: err })
      case 'ResourceExistsException':
        throw new SecretError('exists', secretId, 'already exists', { cause: err })
      case 'AccessDeniedException':
        throw new SecretError('unavailable', secretId, `access denied (${name}); check the broker's IAM policy`, {
          cause: err,
        })
      case 'DecryptionFailure':
        throw new SecretError(
          'unavailable',
          secretId,
          `cannot be decrypted (${name}); check kms:Decrypt on its KMS key`,
          { cause: err },
        )
      default:
        throw new SecretError('unavailable', secretId, `Secrets Manager is unavailable (${name})`, { cause: err })
    }
  }
}

/** The AWS error name; network failures add their socket code (TimeoutError ECONNRESET). */
export function errorName(err: unknown): string {
  if (!(err instanceof Error)) return 'UnknownError'
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && code !== err.name ? `${err.name} ${code}` : err.name
}
