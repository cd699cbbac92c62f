import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { SecretError, parseSecretString, type SecretStage, type SecretStore, type SecretValue } from './secret-store.js'

/**
 * Secrets from a local JSON/YAML file mapping secret id -> secret (an object, or a JSON
 * string like a SecretString). For local use and demos only: the file sits on disk in
 * plain text. It is re-read when its modification time changes, so editing it is a
 * rotation without a restart.
 */
export class FileSecretStore implements SecretStore {
  private readonly path: string
  private loaded: { mtimeMs: number; secrets: Map<string, SecretEntry> } | undefined
  private reading: Promise<Map<string, SecretEntry>> | undefined

  constructor(path: string) {
    this.path = path
  }

  async get(secretId: string, stage: SecretStage = 'AWSCURRENT'): Promise<SecretValue> {
    const secrets = await this.secrets()
    const value = stage === 'AWSCURRENT' ? secrets.get(secretId) : undefined
    if (!value) {
      throw new SecretError('not_found', secretId, stage === 'AWSCURRENT' ? 'not found' : `has no ${stage} version`)
    }
    if (value instanceof SecretError) throw value
    return value
  }

  async close(): Promise<void> {}

  /** Concurrent reads share one stat (and, when the file changed, one parse). */
  private secrets(): Promise<Map<string, SecretEntry>> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined
    })
    return this.reading
  }

  private async read(): Promise<Map<string, SecretEntry>> {
    try {
      const { mtimeMs } = await stat(this.path)
      if (this.loaded?.mtimeMs !== mtimeMs) {
        this.loaded = { mtimeMs, secrets: parseSecretsFile(this.path, await readFile(this.path, 'utf8')) }
      }
      return this.loaded.secrets
    } catch (err) {
      if (err instanceof SecretError) throw err
      throw new SecretError(
        'unavailable',
        this.path,
        `cannot read the secrets file (${(err as NodeJS.ErrnoException).code})`,
        { cause: err },
      )
    }
  }
}

/** A usable secret, or why that one secret is not: one bad entry must not break the others. */
type SecretEntry = SecretValue | SecretError

function parseSecretsFile(path: string, text: string): Map<string, SecretEntry> {
  let doc: unknown
  try {
    doc = parseJsonOrYaml(text)
  } catch (err) {
    throw new SecretError('malformed', path, 'the secrets file is not valid JSON or YAML', { cause: err })
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SecretError('malformed', path, 'the secrets file must map secret ids to secrets')
  }
  return new Map(Object.entries(doc).map(([id, raw]) => [id, parseEntry(id, raw)]))
}

/**
 * JSON first: yaml builds a double-quoted scalar a character at a time, a rope of one-character
 * strings (≈13 KB for a 400-character refresh token), so a JSON file of 10,000 secrets took
 * 190 MB of heap to read as YAML, pages the broker then keeps; JSON.parse makes flat strings.
 * A file that is not JSON is read as YAML (a JSON file's duplicate key: the last one counts).
 */
function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return parseYaml(text)
  }
}

function parseEntry(id: string, raw: unknown): SecretEntry {
  try {
    const fields = typeof raw === 'string' ? parseSecretString(id, raw) : raw
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new SecretError('malformed', id, 'is not an object')
    }
    const versionId = createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32)
    return { id, versionId, fields: fields as Record<string, unknown> }
  } catch (err) {
    return err as SecretError
  }
}
