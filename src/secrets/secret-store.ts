/** Staging labels as Secrets Manager names them; the file backend only knows AWSCURRENT. */
export type SecretStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS'

export interface SecretValue {
  /** The secret id as configured (never an ARN we were not given). */
  id: string
  /** Identifies the version read, so callers can tell a rotation happened. */
  versionId: string
  fields: Readonly<Record<string, unknown>>
}

/** The port every secret backend implements. Adapters live beside it; one place chooses. */
export interface SecretStore {
  get(secretId: string, stage?: SecretStage): Promise<SecretValue>
  /**
   * LWA rejected what `get` returned, so it may have rotated: re-check on the next get. Absent where every get reads
   * afresh.
   */
  invalidate?(secretId: string, rejectedVersionId?: string): void
  /** Stores a new AWSCURRENT version (refresh-token write-back). Absent on read-only backends. */
  put?(secretId: string, fields: Record<string, unknown>, versionId: string): Promise<SecretValue>
  /** Writes a version labelled only `stage` (a new app client secret, AWSPENDING until LWA accepts it). */
  putStaged?(secretId: string, fields: Record<string, unknown>, versionId: string, stage: 'AWSPENDING'): Promise<void>
  /** Moves `stage` onto version `to`, off version `from` (only `from`: removes it). AWSCURRENT leaves AWSPREVIOUS. */
  moveStage?(secretId: string, stage: SecretStage, move: { to?: string | undefined; from?: string | undefined }):
    Promise<void>
  /** Creates a secret with its first version and tags (a consent that creates its credential). Absent: cannot. */
  create?(name: string, fields: Record<string, unknown>, options: NewSecretOptions): Promise<CreatedSecret>
  /** The value cached for a secret, never reading it. Absent where nothing is cached. */
  peek?(secretId: string): SecretValue | undefined
  /** Cached secrets' versions and freshness, never values. Absent where nothing is cached. */
  status?(): Array<{ secretId: string; versionId: string; stale: boolean }>
  close(): Promise<void>
}

export interface NewSecretOptions {
  tags: Readonly<Record<string, string>>
  /** The KMS key to encrypt with; unset: the account's aws/secretsmanager key. */
  kmsKeyId?: string | undefined
  /** The first version's id (ClientRequestToken): a retried create with the same value is idempotent. */
  versionId: string
}

export interface CreatedSecret extends SecretValue {
  arn: string
}

/** `exists`: a create found the name taken. */
export type SecretErrorCode = 'not_found' | 'exists' | 'malformed' | 'missing_field' | 'unavailable'

/**
 * A secret could not be used. `message` names the secret id and field, never a value;
 * it is for logs and operators. Callers only ever see the credential name.
 */
export class SecretError extends Error {
  readonly code: SecretErrorCode
  readonly secretId: string
  readonly field: string | undefined

  constructor(
    code: SecretErrorCode,
    secretId: string,
    detail: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(`secret ${secretId}: ${detail}`, { cause: options.cause })
    this.name = 'SecretError'
    this.code = code
    this.secretId = secretId
    this.field = options.field
  }
}

/** Parses a SecretString: it must be a JSON object. */
export function parseSecretString(secretId: string, text: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new SecretError('malformed', secretId, 'is not JSON')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretError('malformed', secretId, 'is not a JSON object')
  }
  return parsed as Record<string, unknown>
}

/** A backend that can tell cheaply which version is current, and store a new one (Secrets Manager). */
export interface VersionedSecretBackend extends SecretStore {
  /** The version id that holds AWSCURRENT (DescribeSecret: cheap, no decryption). */
  currentVersionId(secretId: string): Promise<string>
  /** Writes a new AWSCURRENT version. `versionId` is the ClientRequestToken, so a repeat is idempotent. */
  put(secretId: string, fields: Record<string, unknown>, versionId: string): Promise<SecretValue>
}
