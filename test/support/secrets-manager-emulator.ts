// A loopback AWS Secrets Manager that the real v3 SDK talks to over HTTP (JSON 1.1 protocol).
// Tests exercise the SDK's own serialisation, error mapping and retry behaviour instead of
// mocking it; see /work/shared/WIRE.md for the wire facts this follows. Tags, listing and scheduled
// deletion live in secrets-manager-catalogue.ts.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomInt, randomUUID } from 'node:crypto'
import {
  deleteSecret, invalidParameter, invalidRequest, listSecrets, MARKED_FOR_DELETION, nowSeconds, optString, optStrings,
  optToken, readTags, removeTags, reqString, restore, restoreSecret, scheduleDeletion, setTags, SmError, SortedSecrets,
  stageMap, tagList, tagResource, untagResource,
} from './secrets-manager-catalogue.js'
import type { CatalogueStore, Json, Secret, SortKey, Version } from './secrets-manager-catalogue.js'

export type SmFault =
  | { kind: 'error'; type: 'ThrottlingException' | 'InternalServiceError' | 'AccessDeniedException' | 'ResourceNotFoundException' | 'DecryptionFailure'; status?: number }
  | { kind: 'reset' }
  | { kind: 'slow'; ms: number }

export interface SmCall {
  operation: string
  secretId?: string
  versionStage?: string
  versionId?: string
  /** ListSecrets: whether the request carried a NextToken (a later page of one listing). */
  nextToken?: boolean
  status: number
  errorType?: string
  at: number
}

export interface SmMatch { operation?: string; secretId?: string }

export interface PutSecretOptions {
  stages?: string[]
  versionId?: string
  tags?: Record<string, string>
  description?: string
  kmsKeyId?: string
}

/** What CreateSecret (or the putSecret helper) sets besides the value. */
interface SecretDetails {
  tags?: Iterable<[string, string]>
  description?: string | undefined
  kmsKeyId?: string | undefined
}

const CURRENT = 'AWSCURRENT'
const PREVIOUS = 'AWSPREVIOUS'
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1'
const TARGET_PREFIX = 'secretsmanager.'
const ARN_SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const NOT_FOUND = "Secrets Manager can't find the specified secret."
const ARN_SUFFIX_LENGTH = 6

/**
 * Secrets, versions and staging labels; shared by the HTTP handlers and the direct test helpers.
 * Maps by name and ARN and two sorted listings keep every look-up and every ListSecrets page cheap at 10,000 secrets.
 */
class SecretStore implements CatalogueStore {
  private readonly byName = new Map<string, Secret>()
  private readonly byArn = new Map<string, Secret>()
  private readonly byPartialArn = new Map<string, Secret>()
  private readonly byCreated = new SortedSecrets<number>((s) => s.seq)
  private readonly byNameOrder = new SortedSecrets<string>((s) => s.name)
  private seq = 0

  constructor(private readonly region: string, private readonly accountId: string) {}

  create(name: string, details: SecretDetails = {}): Secret {
    const existing = this.byName.get(name)
    if (existing?.deletedDate !== undefined) throw invalidRequest(SCHEDULED_NAME)
    if (existing) throw alreadyExists(name)
    // The real service appends a random 6-character suffix, so callers cannot guess ARNs.
    const arn = `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${arnSuffix()}`
    const now = nowSeconds()
    const secret: Secret = {
      name, arn, seq: ++this.seq, createdDate: now, lastChangedDate: now, versions: new Map(),
      tags: new Map(details.tags ?? []),
    }
    if (details.description !== undefined) secret.description = details.description
    if (details.kmsKeyId !== undefined) secret.kmsKeyId = details.kmsKeyId
    this.byName.set(name, secret)
    this.byArn.set(arn, secret)
    this.byPartialArn.set(partialArn(arn), secret)
    this.byCreated.insert(secret)
    this.byNameOrder.insert(secret)
    return secret
  }

  /** By name, full ARN, or partial ARN (without the suffix), as the service accepts all three. */
  find(id: string): Secret | undefined {
    if (!id.startsWith('arn:')) return this.byName.get(id)
    return this.byArn.get(id) ?? this.byPartialArn.get(id)
  }

  get(id: string): Secret {
    const secret = this.find(id)
    if (!secret) throw new SmError('ResourceNotFoundException', NOT_FOUND)
    return secret
  }

  live(id: string): Secret {
    const secret = this.get(id)
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION)
    return secret
  }

  forget(secret: Secret): void {
    if (this.byName.get(secret.name) !== secret) return
    this.byName.delete(secret.name)
    this.byArn.delete(secret.arn)
    this.byPartialArn.delete(partialArn(secret.arn))
    this.byCreated.remove(secret)
    this.byNameOrder.remove(secret)
  }

  delete(name: string): void {
    const secret = this.find(name)
    if (secret) this.forget(secret)
  }

  sorted(by: SortKey): SortedSecrets<string | number> {
    return by === 'name' ? this.byNameOrder : this.byCreated
  }

  /** Adds a version; a repeated version id is idempotent only when the value is the same. */
  addVersion(secret: Secret, value: string, versionId: string, stages: readonly string[]): Version {
    const existing = secret.versions.get(versionId)
    if (existing) {
      if (existing.value === value) return existing
      throw tokenInUse(versionId, secret)
    }
    // The service always labels the first version AWSCURRENT, whatever stages were asked for.
    const labels = secret.versions.size === 0 && !stages.includes(CURRENT) ? [...stages, CURRENT] : stages
    const version: Version = { versionId, value, stages: new Set(), createdDate: nowSeconds() }
    secret.versions.set(versionId, version)
    for (const stage of labels) this.moveStage(secret, stage, versionId, holderOf(secret, stage)?.versionId)
    secret.lastChangedDate = nowSeconds()
    return version
  }

  /** UpdateSecretVersionStage semantics: a label lives on one version; moving AWSCURRENT leaves AWSPREVIOUS behind. */
  moveStage(secret: Secret, stage: string, toVersionId: string | undefined, fromVersionId: string | undefined): void {
    const holder = holderOf(secret, stage)
    if (fromVersionId !== undefined && holder?.versionId !== fromVersionId) {
      throw invalidParameter(`The staging label ${stage} is not attached to version ${fromVersionId}.`)
    }
    if (toVersionId === undefined) {
      if (holder === undefined) throw invalidParameter('You must specify MoveToVersionId or RemoveFromVersionId.')
      if (stage === CURRENT) throw invalidParameter(`You can't remove the staging label ${CURRENT}; move it to another version instead.`)
      holder.stages.delete(stage)
      return
    }
    const target = secret.versions.get(toVersionId)
    if (!target) throw new SmError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${toVersionId}`)
    if (holder === target) return
    if (holder && fromVersionId === undefined) {
      throw invalidParameter(`The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`)
    }
    holder?.stages.delete(stage)
    target.stages.add(stage)
    if (stage === CURRENT && holder) {
      holderOf(secret, PREVIOUS)?.stages.delete(PREVIOUS)
      holder.stages.add(PREVIOUS)
    }
    secret.lastChangedDate = nowSeconds()
  }
}

const arnSuffix = (): string => {
  const pick = () => ARN_SUFFIX_ALPHABET.charAt(randomInt(ARN_SUFFIX_ALPHABET.length))
  return Array.from({ length: ARN_SUFFIX_LENGTH }, pick).join('')
}
const partialArn = (arn: string): string => arn.slice(0, -(ARN_SUFFIX_LENGTH + 1))
const SCHEDULED_NAME = "You can't create this secret because a secret with this name is already scheduled for deletion."
const alreadyExists = (name: string): SmError =>
  new SmError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`)
const tokenInUse = (token: string, secret: Secret): SmError => new SmError('ResourceExistsException',
  `You can't use ClientRequestToken ${token} because that value is already in use ` +
  `for a version of secret ${secret.arn}.`)

function holderOf(secret: Secret, stage: string): Version | undefined {
  for (const version of secret.versions.values()) if (version.stages.has(stage)) return version
  return undefined
}

// --- one handler per operation ---

type Handler = (store: SecretStore, body: Json) => Json

function getSecretValue(store: SecretStore, body: Json): Json {
  const secret = store.live(reqString(body, 'SecretId'))
  const versionId = optString(body, 'VersionId')
  const stage = optString(body, 'VersionStage')
  const version = versionId !== undefined ? secret.versions.get(versionId) : holderOf(secret, stage ?? CURRENT)
  if (!version || (stage !== undefined && !version.stages.has(stage))) {
    const what = stage !== undefined || versionId === undefined ? `staging label: ${stage ?? CURRENT}` : `VersionId: ${versionId}`
    throw new SmError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${what}`)
  }
  return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, SecretString: version.value, VersionStages: [...version.stages], CreatedDate: version.createdDate }
}

/** Still answers for a secret scheduled for deletion, with its DeletedDate; absent fields are left out. */
function describeSecret(store: SecretStore, body: Json): Json {
  const secret = store.get(reqString(body, 'SecretId'))
  return {
    ARN: secret.arn, Name: secret.name, Description: secret.description, KmsKeyId: secret.kmsKeyId,
    RotationEnabled: false, VersionIdsToStages: stageMap(secret), CreatedDate: secret.createdDate,
    LastChangedDate: secret.lastChangedDate, DeletedDate: secret.deletedDate, Tags: tagList(secret),
  }
}

function putSecretValue(store: SecretStore, body: Json): Json {
  const secret = store.live(reqString(body, 'SecretId'))
  const value = reqString(body, 'SecretString')
  // The SDK fills ClientRequestToken with a uuid itself; the fallback only serves raw callers.
  const versionId = optToken(body) ?? randomUUID()
  const version = store.addVersion(secret, value, versionId, optStrings(body, 'VersionStages') ?? [CURRENT])
  return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] }
}

function updateSecretVersionStage(store: SecretStore, body: Json): Json {
  const secret = store.live(reqString(body, 'SecretId'))
  store.moveStage(secret, reqString(body, 'VersionStage'), optString(body, 'MoveToVersionId'), optString(body, 'RemoveFromVersionId'))
  return { ARN: secret.arn, Name: secret.name }
}

function createSecret(store: SecretStore, body: Json): Json {
  const name = reqString(body, 'Name')
  const value = optString(body, 'SecretString')
  const token = optToken(body)
  const details = {
    tags: readTags(body['Tags']), description: optString(body, 'Description'), kmsKeyId: optString(body, 'KmsKeyId'),
  }
  const existing = store.find(name)
  if (existing && existing.deletedDate === undefined) return retriedCreate(existing, token, value)
  const secret = store.create(name, details) // a name scheduled for deletion fails here
  if (value === undefined) return { ARN: secret.arn, Name: secret.name }
  const versionId = token ?? randomUUID()
  store.addVersion(secret, value, versionId, [CURRENT])
  return { ARN: secret.arn, Name: secret.name, VersionId: versionId }
}

/** A retried CreateSecret (same token, same value) answers as the first did; any other repeat is a clash. */
function retriedCreate(existing: Secret, token: string | undefined, value: string | undefined): Json {
  const version = token === undefined ? undefined : existing.versions.get(token)
  if (!version) throw alreadyExists(existing.name)
  if (version.value !== value) throw tokenInUse(version.versionId, existing)
  return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId }
}

const HANDLERS: Record<string, Handler> = {
  GetSecretValue: getSecretValue,
  DescribeSecret: describeSecret,
  PutSecretValue: putSecretValue,
  UpdateSecretVersionStage: updateSecretVersionStage,
  CreateSecret: createSecret,
  ListSecrets: listSecrets,
  TagResource: tagResource,
  UntagResource: untagResource,
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
}

// --- the HTTP shell: protocol checks, faults, call log ---

interface Rule { fault: SmFault; match: SmMatch; remaining: number }

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parseObject(raw: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(raw === '' ? '{}' : raw)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined
  } catch {
    return undefined
  }
}

/** The checks a real endpoint makes before it looks at the operation; the signature itself is not verified. */
function protocolError(req: IncomingMessage, operation: string, body: Json | undefined): SmError | undefined {
  if (req.method !== 'POST' || req.url !== '/') return new SmError('UnknownOperationException', `${req.method} ${req.url} is not an API.`, 404)
  if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) return new SmError('MissingAuthenticationTokenException', 'Missing Authentication Token')
  if (!req.headers['content-type']?.startsWith(JSON_CONTENT_TYPE)) return new SmError('SerializationException', `Expected content-type ${JSON_CONTENT_TYPE}.`)
  if (!(operation in HANDLERS)) return new SmError('UnknownOperationException', `Unknown operation ${operation || '(no X-Amz-Target)'}.`)
  if (body === undefined) return new SmError('SerializationException', 'The request body is not a JSON object.')
  return undefined
}

const matchKey = (match: SmMatch): string => JSON.stringify([match.operation, match.secretId])

function faultError(fault: Extract<SmFault, { kind: 'error' }>): SmError {
  const status = fault.status ?? (fault.type === 'InternalServiceError' ? 500 : 400)
  return new SmError(fault.type, `Injected ${fault.type}.`, status)
}

export class SecretsManagerEmulator {
  readonly calls: SmCall[] = []
  private readonly queued: Rule[] = []
  private readonly persistent: Rule[] = []
  private readonly timers = new Set<NodeJS.Timeout>()

  private constructor(private readonly server: Server, private readonly store: SecretStore, readonly url: string) {}

  static async start(options: { region?: string; accountId?: string } = {}): Promise<SecretsManagerEmulator> {
    const store = new SecretStore(options.region ?? 'us-east-1', options.accountId ?? '123456789012')
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const { port } = server.address() as AddressInfo
    const emulator = new SecretsManagerEmulator(server, store, `http://127.0.0.1:${port}`)
    // A handler bug must surface as a dropped request in the test, not an unhandled rejection.
    server.on('request', (req, res) => void emulator.onRequest(req, res).catch(() => req.socket.destroy()))
    return emulator
  }

  callCount(filter: { operation?: string; secretId?: string; ok?: boolean } = {}): number {
    return this.calls.filter((c) =>
      this.matches(c, filter) && (filter.ok === undefined || (c.status === 200) === filter.ok)).length
  }

  /** Creates the secret if need be and adds a version; `tags` are merged into the secret's, as TagResource does. */
  putSecret(name: string, value: string | object, options: PutSecretOptions = {}): string {
    const { tags, description, kmsKeyId } = options
    const existing = this.store.find(name)
    const secret = existing ?? this.store.create(name, { description, kmsKeyId })
    if (existing && description !== undefined) existing.description = description
    if (existing && kmsKeyId !== undefined) existing.kmsKeyId = kmsKeyId
    if (tags) setTags(secret, Object.entries(tags))
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    return this.store.addVersion(secret, text, options.versionId ?? randomUUID(), options.stages ?? [CURRENT]).versionId
  }

  /** Adds or overwrites tags, as TagResource does (also on a secret scheduled for deletion). */
  tagSecret(name: string, tags: Record<string, string>): void {
    setTags(this.store.get(name), Object.entries(tags))
  }

  untagSecret(name: string, keys: readonly string[]): void {
    removeTags(this.store.get(name), keys)
  }

  /** The secret's tags; `{}` for an untagged or unknown secret. */
  tags(name: string): Record<string, string> {
    return Object.fromEntries(this.store.find(name)?.tags ?? [])
  }

  /** DeleteSecret with a recovery window: the secret stays, its reads fail. Returns the DeletionDate. */
  scheduleDeletion(name: string, recoveryWindowInDays?: number): Date {
    return new Date(scheduleDeletion(this.store.get(name), recoveryWindowInDays) * 1000)
  }

  restoreSecret(name: string): void {
    restore(this.store.get(name))
  }

  /** When the recovery window of a secret scheduled for deletion ends; undefined while it is live or absent. */
  deletionDate(name: string): Date | undefined {
    const seconds = this.store.find(name)?.deletionDate
    return seconds === undefined ? undefined : new Date(seconds * 1000)
  }

  moveStage(name: string, stage: string, toVersionId: string): void {
    const secret = this.store.get(name)
    this.store.moveStage(secret, stage, toVersionId, holderOf(secret, stage)?.versionId)
  }

  current(name: string, stage = CURRENT): { versionId: string; value: string } | undefined {
    const secret = this.store.find(name)
    const version = secret && holderOf(secret, stage)
    return version && { versionId: version.versionId, value: version.value }
  }

  versions(name: string): Array<{ versionId: string; stages: string[]; value: string }> {
    const secret = this.store.find(name)
    return secret ? [...secret.versions.values()].map((v) => ({ versionId: v.versionId, stages: [...v.stages], value: v.value })) : []
  }

  /** Removes the secret at once, as DeleteSecret with ForceDeleteWithoutRecovery does. */
  deleteSecret(name: string): void {
    this.store.delete(name)
  }

  failNext(fault: SmFault, times = 1, match: SmMatch = {}): void {
    this.queued.push({ fault, match, remaining: times })
  }

  /** Replaces the persistent fault for exactly this match; `setFault(null)` with no match clears them all. */
  setFault(fault: SmFault | null, match?: SmMatch): void {
    const key = matchKey(match ?? {})
    const keep = fault === null && match === undefined ? [] : this.persistent.filter((r) => matchKey(r.match) !== key)
    this.persistent.splice(0, this.persistent.length, ...keep)
    if (fault) this.persistent.push({ fault, match: match ?? {}, remaining: Infinity })
  }

  reset(): void {
    this.calls.length = 0 // in place, so arrays the test already holds stay live
    this.queued.length = 0
    this.persistent.length = 0
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections() // the SDK's keep-alive sockets would otherwise hold close() open
    await closed
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now()
    const body = parseObject(await readBody(req))
    const target = req.headers['x-amz-target']
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : ''
    const call = describeCall(operation, body ?? {}, at)
    const problem = protocolError(req, operation, body)
    if (problem) return this.answer(res, call, problem)

    const fault = this.takeFault(call)
    if (fault?.kind === 'reset') {
      this.calls.push({ ...call, status: 0 })
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'error') return this.answer(res, call, faultError(fault))
    if (fault?.kind === 'slow') await this.delay(fault.ms)

    try {
      this.answer(res, call, HANDLERS[operation]?.(this.store, body ?? {}) ?? {})
    } catch (err) {
      this.answer(res, call, err instanceof SmError ? err : new SmError('InternalServiceError', String(err), 500))
    }
  }

  /** Queued faults win over persistent ones, so a test can stack a one-off failure on a standing one. */
  private takeFault(call: SmCall): SmFault | undefined {
    const index = this.queued.findIndex((r) => this.matches(call, r.match))
    const queued = this.queued[index]
    if (queued) {
      if (--queued.remaining <= 0) this.queued.splice(index, 1)
      return queued.fault
    }
    return this.persistent.find((r) => this.matches(call, r.match))?.fault
  }

  /** A secret id matches by name or ARN, so tests need not care which form the broker uses. */
  private matches(call: SmCall, match: SmMatch): boolean {
    if (match.operation !== undefined && call.operation !== match.operation) return false
    if (match.secretId === undefined || call.secretId === match.secretId) return true
    const wanted = this.store.find(match.secretId)
    return wanted !== undefined && call.secretId !== undefined && this.store.find(call.secretId) === wanted
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.timers.delete(timer); resolve() }, ms)
      this.timers.add(timer)
    })
  }

  private answer(res: ServerResponse, call: SmCall, result: Json | SmError): void {
    const error = result instanceof SmError ? result : undefined
    const status = error?.status ?? 200
    this.calls.push(error ? { ...call, status, errorType: error.type } : { ...call, status })
    const payload = error ? { __type: error.type, Message: error.message } : result
    const text = JSON.stringify(payload)
    res.writeHead(status, {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    })
    res.end(text)
  }
}

function describeCall(operation: string, body: Json, at: number): SmCall {
  const call: SmCall = { operation, status: 0, at }
  // CreateSecret names its secret `Name`; recording it as secretId lets callCount filter it too.
  const secretId = body['SecretId'] ?? (operation === 'CreateSecret' ? body['Name'] : undefined)
  if (typeof secretId === 'string') call.secretId = secretId
  if (typeof body['VersionStage'] === 'string') call.versionStage = body['VersionStage']
  if (typeof body['VersionId'] === 'string') call.versionId = body['VersionId']
  if (operation === 'ListSecrets') call.nextToken = typeof body['NextToken'] === 'string'
  return call
}
