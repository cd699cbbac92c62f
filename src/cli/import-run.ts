import {
  CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, TagResourceCommand, UntagResourceCommand,
  UpdateSecretVersionStageCommand, type DescribeSecretCommandOutput, type SecretsManagerClient, type Tag,
} from '@aws-sdk/client-secrets-manager'
import { errorName } from '../secrets/aws-store.js'
import type { ImportEntry } from './import-entries.js'
import { tagPrefix } from '../catalogue/tags.js'

export type Action = 'created' | 'unchanged' | 'updated' | 'conflict' | 'failed'

/** What became of one entry; `detail` names what differed or failed, never a value. */
export interface Outcome {
  action: Action
  entry: ImportEntry
  detail?: string
}

export interface ImportOptions {
  /** Reads only (DescribeSecret): the outcome is what would happen. */
  dryRun: boolean
  /** A secret whose value or lwa-broker tags differ is overwritten instead of reported as a conflict. */
  update: boolean
  kmsKeyId: string | undefined
}

/** A secret of the entry's name as DescribeSecret shows it: which version is current, and its lwa-broker tags. */
interface Existing {
  currentVersionId: string | undefined
  tags: Record<string, string>
  deleted: boolean
}

/** A failed SDK call, named by operation and AWS error name (the message can carry ARNs and is left out). */
class StepFailure extends Error {
  constructor(readonly operation: string, readonly awsName: string) {
    super(`${operation}: ${awsName}`)
  }
}

const CURRENT = 'AWSCURRENT'

/**
 * One entry against Secrets Manager. The version id of the value is derived from it (import-entries.ts), so a
 * secret whose AWSCURRENT version has that id holds exactly that value: "unchanged" is decided without reading
 * any secret value, and a retried CreateSecret or PutSecretValue is idempotent.
 */
export async function importEntry(
  client: SecretsManagerClient,
  entry: ImportEntry,
  options: ImportOptions,
): Promise<Outcome> {
  try {
    const existing = await describe(client, entry.secretName)
    if (!existing) return options.dryRun ? { action: 'created', entry } : await create(client, entry, options.kmsKeyId)
    if (existing.deleted) {
      const detail = 'is scheduled for deletion; restore it or choose another --name-prefix'
      return { action: 'conflict', entry, detail }
    }
    const differences = differencesOf(existing, entry)
    const detail = [
      ...(differences.value ? ['holds another value'] : []),
      ...(differences.tags.length > 0 ? [`tags differ: ${differences.tags.join(', ')}`] : []),
    ].join('; ')
    if (detail === '') return { action: 'unchanged', entry }
    if (!options.update) return { action: 'conflict', entry, detail: `${detail} (--update overwrites)` }
    if (!options.dryRun) await update(client, entry, existing, differences)
    return { action: 'updated', entry, detail }
  } catch (err) {
    if (err instanceof StepFailure) return { action: 'failed', entry, detail: err.message }
    throw err
  }
}

/** Why `secretId` cannot serve as an app secret (it does not exist, or that cannot be told); undefined: it can. */
export async function appSecretProblem(client: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  try {
    const existing = await describe(client, secretId)
    if (existing === undefined) return 'names no secret'
    return existing.deleted ? 'names a secret scheduled for deletion' : undefined
  } catch (err) {
    if (err instanceof StepFailure) return `cannot be checked (${err.message})`
    throw err
  }
}

async function describe(client: SecretsManagerClient, secretId: string): Promise<Existing | undefined> {
  let out: DescribeSecretCommandOutput
  try {
    out = await client.send(new DescribeSecretCommand({ SecretId: secretId }))
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') return undefined
    throw new StepFailure('DescribeSecret', errorName(err))
  }
  const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(CURRENT))
  const tags = (out.Tags ?? []).filter((tag) => tag.Key?.startsWith(tagPrefix))
  return {
    currentVersionId: current?.[0],
    tags: Object.fromEntries(tags.map((tag) => [tag.Key as string, tag.Value ?? ''])),
    deleted: out.DeletedDate !== undefined,
  }
}

interface Differences {
  value: boolean
  /** The lwa-broker tags that are missing, extra or different. */
  tags: string[]
}

/** Tags other than lwa-broker's are someone else's (cost allocation, ownership): never compared, never removed. */
function differencesOf(existing: Existing, entry: ImportEntry): Differences {
  const keys = new Set([...Object.keys(existing.tags), ...Object.keys(entry.tags)])
  return {
    value: existing.currentVersionId !== entry.versionId,
    tags: [...keys].filter((key) => existing.tags[key] !== entry.tags[key]).sort(),
  }
}

async function create(
  client: SecretsManagerClient,
  entry: ImportEntry,
  kmsKeyId: string | undefined,
): Promise<Outcome> {
  try {
    await client.send(new CreateSecretCommand({
      Name: entry.secretName, SecretString: entry.secretString, ClientRequestToken: entry.versionId,
      Tags: tagList(entry.tags), KmsKeyId: kmsKeyId,
    }))
    return { action: 'created', entry }
  } catch (err) {
    // Not there when described, there now with another version: someone else created it meanwhile.
    if (errorName(err) === 'ResourceExistsException') {
      return { action: 'conflict', entry, detail: 'was created by someone else during the import; run it again' }
    }
    throw new StepFailure('CreateSecret', errorName(err))
  }
}

async function update(
  client: SecretsManagerClient,
  entry: ImportEntry,
  existing: Existing,
  differences: Differences,
): Promise<void> {
  const secretId = entry.secretName
  if (differences.value) {
    const put = await step('PutSecretValue', () => client.send(new PutSecretValueCommand({
      SecretId: secretId, SecretString: entry.secretString, ClientRequestToken: entry.versionId,
    })))
    // This value was imported before and replaced since: the service then ignores the put, so AWSCURRENT is moved back.
    if (!put.VersionStages?.includes(CURRENT)) {
      await step('UpdateSecretVersionStage', () => client.send(new UpdateSecretVersionStageCommand({
        SecretId: secretId, VersionStage: CURRENT, MoveToVersionId: entry.versionId,
        RemoveFromVersionId: existing.currentVersionId,
      })))
    }
  }
  if (differences.tags.length === 0) return
  const stale = Object.keys(existing.tags).filter((key) => !(key in entry.tags))
  const tags = tagList(entry.tags)
  await step('TagResource', () => client.send(new TagResourceCommand({ SecretId: secretId, Tags: tags })))
  if (stale.length > 0) {
    await step('UntagResource', () => client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: stale })))
  }
}

async function step<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (err) {
    throw new StepFailure(operation, errorName(err))
  }
}

const tagList = (tags: Readonly<Record<string, string>>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
