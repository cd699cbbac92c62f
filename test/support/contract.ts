/**
 * openapi.yaml as the contract every test holds the broker to: each response a harness app
 * sends (caller listener and ops listener, injected or over a socket) is checked against the
 * document as it leaves — its status documented for its operation, its content type and body
 * schema, its error code one listed for that status, its documented headers present and
 * valid — and recorded, so the run can show that every documented response was produced
 * (test/support/contract-coverage.ts, after the suite).
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parse as parseYaml } from 'yaml'

type Json = Record<string, unknown>
export interface OpenApiDoc { paths: Record<string, Record<string, { responses: Record<string, Json> }>>; components: Json }

const root = join(import.meta.dirname, '../..')
export const doc = parseYaml(readFileSync(join(root, 'openapi.yaml'), 'utf8')) as OpenApiDoc
const docId = 'urn:lwa-broker:openapi'
/** Where each test process writes what it saw; the suite's `after` script reads them all. */
export const seenDir = join(root, '.tap', 'contract')

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default
const ajv = new Ajv2020({ allErrors: true, strict: false })
addFormats(ajv)
ajv.addSchema({ ...structuredClone(doc), $id: docId })

const escapePointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1')
const schemaAt = (pointer: string) => ajv.getSchema(`${docId}#${pointer}`)

function resolveRef<T>(value: unknown): T {
  let current = value as Json
  while (typeof current?.$ref === 'string') {
    let node: unknown = doc
    for (const raw of current.$ref.slice(2).split('/')) node = (node as Json)[raw.replaceAll('~1', '/').replaceAll('~0', '~')]
    current = node as Json
  }
  return current as T
}

export interface ObservedResponse {
  method: string
  /** The OpenAPI path template, or undefined when no route matched. */
  path: string | undefined
  status: number
  headers: Record<string, unknown>
  body: string
}

/** The contract's verdict on one response: what is wrong with it (nothing: []), and what it covered. */
export function checkResponse(res: ObservedResponse): { problems: string[]; covered: string | undefined } {
  const operation = res.path ? doc.paths[res.path]?.[res.method.toLowerCase()] : undefined
  const label = `${res.method} ${res.path ?? '(no route)'} -> ${res.status}`
  if (!operation) return { problems: notFoundProblems(res, label), covered: undefined }
  const documented = operation.responses[String(res.status)]
  if (!documented) return { problems: [`${label}: the status is not documented`], covered: undefined }
  const pointer = `/paths/${escapePointer(res.path as string)}/${res.method.toLowerCase()}/responses/${res.status}`
  const problems = [...bodyProblems(res, label, documented, pointer), ...headerProblems(res, label, documented)]
  const code = errorCodeOf(res)
  return { problems, covered: `${res.method} ${res.path} ${res.status}${code ? ` ${code}` : ''}` }
}

/** An unknown route answers the shared not_found error. */
function notFoundProblems(res: ObservedResponse, label: string): string[] {
  if (res.status !== 404) return [`${label}: not an operation of the document, so it must be 404 not_found`]
  return errorCodeOf(res) === 'not_found' ? [] : [`${label}: an unknown route answers error not_found`]
}

function bodyProblems(res: ObservedResponse, label: string, documented: Json, pointer: string): string[] {
  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const content = documented.content as Record<string, Json> | undefined
  if (!content) return res.body === '' ? [] : [`${label}: documented without a body, but one was sent`]
  if (!content[mediaType]) return [`${label}: content type ${mediaType || '(none)'} is not documented`]
  if (mediaType !== 'application/json') return []
  const validate = schemaAt(`${pointer}/content/${escapePointer(mediaType)}/schema`)
  let body: unknown
  try {
    body = JSON.parse(res.body)
  } catch {
    return [`${label}: the body is not JSON`]
  }
  if (!validate) return [`${label}: no schema to check against`]
  return validate(body) ? [] : [`${label}: the body does not match its schema: ${ajv.errorsText(validate.errors)} ${res.body.slice(0, 300)}`]
}

function headerProblems(res: ObservedResponse, label: string, documented: Json): string[] {
  const problems: string[] = []
  for (const [name, header] of Object.entries((documented.headers ?? {}) as Json)) {
    const spec = resolveRef<{ schema: Json }>(header)
    const value = res.headers[name.toLowerCase()]
    if (value === undefined) {
      problems.push(`${label}: header ${name} is missing`)
      continue
    }
    const text = Array.isArray(value) ? value.join(', ') : String(value)
    const typed = spec.schema.type === 'integer' && /^-?\d+$/.test(text) ? Number(text) : text
    const validate = ajv.compile({ ...spec.schema, $id: undefined })
    if (!validate(typed)) problems.push(`${label}: header ${name}: ${text} does not match its schema`)
  }
  return problems
}

function errorCodeOf(res: ObservedResponse): string | undefined {
  if (res.status < 400 || !String(res.headers['content-type'] ?? '').startsWith('application/json')) return undefined
  try {
    const body = JSON.parse(res.body) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : undefined
  } catch {
    return undefined
  }
}

const fastifyPath = (url: string | undefined): string | undefined => url?.replace(/:(\w+)/g, '{$1}')

/**
 * A plugin for a harness app: every response is checked as it is sent; what is wrong goes to
 * `problems` (the harness fails the test with them), what it covered to this process's file.
 */
export function contractCheck(problems: string[]): (app: FastifyInstance) => Promise<void> {
  mkdirSync(seenDir, { recursive: true })
  const file = join(seenDir, `${process.pid}.txt`)
  // The body as it leaves (onSend), checked once the response is complete (onResponse): plugins
  // scoped deeper than this one (the cookie plugin) add their headers after this onSend.
  const bodies = new WeakMap<FastifyRequest, string>()
  return async (app) => {
    app.addHook('onSend', async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
      bodies.set(request, typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '')
      return payload
    })
    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      const res = { method: request.method, path: fastifyPath(request.routeOptions.url), status: reply.statusCode, headers: reply.getHeaders(), body: bodies.get(request) ?? '' }
      const verdict = checkResponse(res)
      problems.push(...verdict.problems)
      if (verdict.covered) appendFileSync(file, `${verdict.covered}\n`)
    })
  }
}
