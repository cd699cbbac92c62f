/**
 * openapi.yaml is the contract (DESIGN.md, "HTTP surface"). Three checks keep it true:
 * the file is valid OpenAPI 3.1; its schemas equal the TypeBox route schemas; and real
 * responses of every route and every reachable status and error code validate against it.
 */
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import Fastify, { type FastifyPluginAsync, type FastifySchema, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { Client } from 'undici'
import { parse as parseYaml } from 'yaml'
import { secretIdsOf } from '../src/config/index.js'
import { errorStatus, type ErrorCode } from '../src/errors.js'
import type { AuditLog } from '../src/observability/audit.js'
import type { Onboarding } from '../src/onboarding/onboarding.js'
import { lwaCompatRoutes } from '../src/routes/lwa-compat.js'
import { onboardingPages } from '../src/routes/onboarding-pages.js'
import { CredentialListResponse, CredentialParams, CredentialStatusSchema, ErrorResponse, HealthResponse, OnboardingLink, OnboardingRequest, ReadyResponse, ReloadResponse, TokenQuery, TokenResponse } from '../src/routes/schemas.js'
import type { TokenRouteDeps } from '../src/routes/token.js'
import { baseSecrets, build, fixtures, type BuildOptions, type Harness } from './helper.js'

type Json = Record<string, unknown>
interface Ref { $ref: string }
interface HeaderObject { required?: boolean; schema: Json }
interface MediaType { schema: Json; example?: unknown; examples?: Record<string, { value: unknown }> }
interface ResponseObject { description: string; headers?: Record<string, HeaderObject | Ref>; content?: Record<string, MediaType> }
interface ParameterObject { name: string; in: string; required?: boolean; schema: Json; example?: unknown }
interface RequestBodyObject { required?: boolean; content: Record<string, MediaType> }
interface Operation { description?: string; tags?: string[]; parameters?: (ParameterObject | Ref)[]; requestBody?: RequestBodyObject; responses: Record<string, ResponseObject | Ref> }
interface OpenApiDoc {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Json>; responses: Record<string, ResponseObject> }
}

const docText = readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')
const doc = parseYaml(docText) as OpenApiDoc
const docId = 'urn:lwa-broker:openapi'

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default
const ajv = new Ajv2020({ allErrors: true, strict: true })
addFormats(ajv)
// The whole document under one $id, so `#/components/...` refs resolve and any schema in
// it can be compiled by its JSON pointer. Its top-level OpenAPI fields are inert keywords.
ajv.addVocabulary(Object.keys(doc))
ajv.addSchema({ ...structuredClone(doc), $id: docId })

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const isRef = (v: unknown): v is Ref => isObject(v) && typeof v.$ref === 'string'
const escapePointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1')

function atPointer(pointer: string): unknown {
  let node: unknown = doc
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (!isObject(node) && !Array.isArray(node)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** Follows OpenAPI-level `$ref`s (responses, headers, parameters) and says where the result lives. */
function resolve<T>(value: T | Ref, pointer: string): { value: T; pointer: string } {
  let current: unknown = value
  let at = pointer
  while (isRef(current)) {
    if (!current.$ref.startsWith('#/')) throw new Error(`external $ref ${current.$ref} at ${at}`)
    at = current.$ref.slice(1)
    current = atPointer(at)
    if (current === undefined) throw new Error(`unresolvable $ref #${at}`)
  }
  return { value: current as T, pointer: at }
}

function schemaAt(pointer: string): ReturnType<typeof ajv.compile> {
  const validate = ajv.getSchema(`${docId}#${pointer}`)
  if (!validate) throw new Error(`no schema at #${pointer}`)
  return validate
}

/** The error codes a response schema allows: the narrowest `error` enum among its allOf members. */
function errorCodesOf(schema: Json): string[] {
  const members = Array.isArray(schema.allOf) ? schema.allOf as unknown[] : [schema]
  let codes: string[] | undefined
  for (const member of members) {
    const target = isRef(member) ? resolve<Json>(member, '').value : member
    const properties = isObject(target) && isObject(target.properties) ? target.properties : {}
    const error = properties.error
    const allowed = isObject(error) ? (Array.isArray(error.enum) ? error.enum as string[] : typeof error.const === 'string' ? [error.const] : undefined) : undefined
    if (allowed) codes = codes ? codes.filter((c) => allowed.includes(c)) : allowed
  }
  return codes ?? []
}

/**
 * Whether an error schema is Login with Amazon's `{error, error_description}` (POST
 * /auth/o2/token) rather than the broker's own `{error, message, request_id}`: LWA's codes
 * are not the broker's, and its bodies carry no request_id.
 */
function isLwaError(schema: Json): boolean {
  const members = Array.isArray(schema.allOf) ? schema.allOf as unknown[] : [schema]
  return members.some((m) => isRef(m) && m.$ref === '#/components/schemas/LwaErrorResponse')
}

/**
 * What the contract test saw: which documented responses and codes real responses covered
 * (`lwaCodes` as `METHOD path status error`, since LWA's codes are per status), and every
 * 500 that no test said to expect.
 */
const seen = { responses: new Set<string>(), codes: new Set<string>(), lwaCodes: new Set<string>(), unexpected500s: [] as string[] }

/** JSON bodies are validated against their schema; any other body only by its content type. */
const isJsonMediaType = (mediaType: string): boolean => mediaType === 'application/json' || mediaType.endsWith('+json')

/**
 * Checks one real response against the document: its status is documented for the
 * operation (an operation the document lacks must be the shared NotFound), its content
 * type is documented for that status, a JSON body validates against that status's schema,
 * an error's code is one listed for that status, and every documented header is present
 * and valid. A non-JSON body (the Prometheus text of /metrics, the onboarding pages' HTML)
 * is checked by its content type only: its format is its route's own tests' business. A
 * response documented without content (a redirect) must have no body.
 *
 * A 500 is a bug, except where a test says it expects one: POST /auth/o2/token answers a
 * misconfigured credential with LWA's `500 server_error`.
 */
function checkAgainstSpec(t: Test, method: string, path: string, res: LightMyRequestResponse, options: { expect500?: string } = {}): void {
  const status = res.statusCode
  const label = `${method} ${path} -> ${status}`
  if (status === 500 && options.expect500 === undefined) seen.unexpected500s.push(label)
  if (options.expect500 === undefined) t.not(status, 500, `${label}: a 500 is always a bug`)
  else t.equal(status, 500, `${label}: the expected 500 (${options.expect500})`)
  const operation = doc.paths[path]?.[method.toLowerCase()]
  if (!operation) t.equal(status, 404, `${method} ${path} is not in the document, so it must be 404 not_found`)
  const documented = operation ? operation.responses[String(status)] : { $ref: '#/components/responses/NotFound' }
  if (!t.ok(documented, `${label}: the status is documented`) || !documented) return
  const opPointer = `/paths/${escapePointer(path)}/${method.toLowerCase()}/responses/${status}`
  const response = resolve<ResponseObject>(documented, opPointer)
  if (operation) seen.responses.add(`${method} ${path} ${status}`)

  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const media = response.value.content?.[mediaType]
  if (!response.value.content) {
    t.equal(mediaType, '', `${label}: no content type, as documented`)
    t.equal(res.body, '', `${label}: no body, as documented`)
  } else if (!t.ok(media, `${label}: content type ${mediaType} is documented`) || !media) {
    return
  }
  if (media && isJsonMediaType(mediaType)) {
    const body: unknown = res.json()
    const validate = schemaAt(`${response.pointer}/content/${escapePointer(mediaType)}/schema`)
    t.ok(validate(body), `${label}: the body matches the schema`, { errors: validate.errors, body })

    const codes = errorCodesOf(media.schema)
    if (codes.length > 0) {
      t.ok(isObject(body) && typeof body.error === 'string', `${label}: an error body has an error code`)
      if (isObject(body) && typeof body.error === 'string') {
        t.ok(codes.includes(body.error), `${label}: error ${body.error} is one documented for ${status} (${codes.join(', ')})`)
        if (isLwaError(media.schema)) {
          if (codes.includes(body.error)) seen.lwaCodes.add(`${method} ${path} ${status} ${body.error}`)
        } else {
          t.equal(body.request_id, res.headers['x-request-id'], `${label}: request_id is the X-Request-Id`)
          if (codes.includes(body.error)) seen.codes.add(body.error)
        }
      }
    }
  }

  for (const [name, header] of Object.entries(response.value.headers ?? {})) {
    const resolved = resolve<HeaderObject>(header, `${response.pointer}/headers/${escapePointer(name)}`)
    const value = res.headers[name.toLowerCase()]
    if (value === undefined) {
      t.notOk(resolved.value.required, `${label}: required header ${name} is present`)
      continue
    }
    const text = Array.isArray(value) ? value.join(', ') : String(value)
    const typed = (resolved.value.schema.type === 'integer' || resolved.value.schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text
    const validateHeader = schemaAt(`${resolved.pointer}/schema`)
    t.ok(validateHeader(typed), `${label}: header ${name}: ${text} matches its schema`, { errors: validateHeader.errors })
  }
}

/** Annotations that may differ between the document and the TypeBox schemas. */
const annotations = new Set(['description', 'example', 'examples'])
const schemaMaps = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas'])

/**
 * Drops annotations at keyword positions only (a property may well be called `description`),
 * and inlines `$ref`s to other component schemas, as TypeBox inlines a schema it reuses.
 */
function stripAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripAnnotations)
  if (!isObject(schema)) return schema
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/components/schemas/')) {
    const { $ref, ...siblings } = schema
    const target = atPointer($ref.slice(1))
    if (target === undefined) throw new Error(`unresolvable $ref ${$ref}`)
    return { ...(stripAnnotations(target) as Json), ...(stripAnnotations(siblings) as Json) }
  }
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (annotations.has(key)) continue
    out[key] = schemaMaps.has(key) && isObject(value)
      ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, stripAnnotations(sub)]))
      : ['enum', 'const', 'required'].includes(key) ? value : stripAnnotations(value)
  }
  return out
}

/** A TypeBox schema as plain JSON Schema: TypeBox's symbol keys do not survive JSON. */
const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema))

/**
 * The schemas a route plugin gives its routes, as fastify's onRoute hook sees them. POST
 * /auth/o2/token and the onboarding pages keep their schemas local to their modules
 * (lwa-compat.ts, onboarding-pages.ts), so the drift check registers the very plugin
 * factories buildApp registers, on a bare fastify with the broker's route options, and
 * reads the schemas there. The factories use their dependencies only when a request
 * arrives, and none does, hence the empty stand-ins.
 */
async function routeSchemasOf(plugin: FastifyPluginAsync): Promise<Map<string, FastifySchema>> {
  const probe = Fastify({ exposeHeadRoutes: false })
  const schemas = new Map<string, FastifySchema>()
  probe.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) schemas.set(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`, route.schema ?? {})
  })
  await probe.register(plugin)
  await probe.ready()
  await probe.close()
  return schemas
}

/** The parameters an operation documents in one place (`path`, `query`, `cookie`). */
function parametersOf(path: string, method: string, location: string): ParameterObject[] {
  return (doc.paths[path]?.[method]?.parameters ?? []).map((p) => resolve<ParameterObject>(p, '').value).filter((p) => p.in === location)
}

/** An operation's documented parameters in one place are exactly a route schema's properties. */
function checkParameters(t: Test, label: string, documented: ParameterObject[], schema: unknown): void {
  const route = plain(schema) as { properties: Record<string, unknown>; required?: string[] }
  t.strictSame(documented.map((p) => p.name).sort(), Object.keys(route.properties).sort(), `${label}: exactly the route schema's parameters`)
  for (const parameter of documented) {
    t.strictSame(stripAnnotations(parameter.schema), route.properties[parameter.name], `${label}: ${parameter.name} has the route's schema`)
    t.equal(parameter.required ?? false, (route.required ?? []).includes(parameter.name), `${label}: ${parameter.name} is required as the route says`)
  }
}

/** The first allOf member of a narrowed error schema (the shape it narrows), or the schema itself. */
const baseOf = (schema: Json | undefined): unknown => (Array.isArray(schema?.allOf) ? (schema.allOf as unknown[])[0] : schema)

const platformCaller = { claims: { sub: 'system:serviceaccount:platform:all' } }
const adminSubject = 'system:serviceaccount:ops:admin'
const adminCaller = { claims: { sub: adminSubject } }
/** Where the onboarding pages are served from, as the browser and Amazon see it. */
const publicUrl = 'https://lwa-broker.example.test'

/** `onboarding` configured (so its three routes exist), sp-acme-eu onboardable as a draft SP-API app. */
const withOnboarding = (c: Record<string, unknown>): Record<string, unknown> => {
  const credentials = c.credentials as Record<string, Record<string, unknown>>
  return {
    ...c,
    onboarding: { publicUrl, consentUrls: { ads: { na: 'https://consent.example.test/ap/oa' } } },
    credentials: { ...credentials, 'sp-acme-eu': { ...credentials['sp-acme-eu'], onboarding: { applicationId: 'amzn1.sp.solution.test', draft: true } } },
  }
}
/** The base config plus onboarding, and a rule that makes `adminCaller` an admin (and grants it no credential). */
const withAdmin = (more: (c: Record<string, unknown>) => Record<string, unknown> = (c) => c): BuildOptions =>
  ({ config: (c) => more(withOnboarding({ ...c, policy: [...(c.policy as unknown[]), { subject: adminSubject, admin: true }] })) })

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const validator = new Validator()
  const result = await validator.validate(parseYaml(docText) as Json)
  t.ok(result.valid, 'valid against the OpenAPI 3.1 schema', { errors: result.errors })
  t.equal(validator.version, '3.1')
  t.equal(doc.openapi, '3.1.0')

  const refs: string[] = []
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect)
    else if (isObject(node)) for (const [key, value] of Object.entries(node)) key === '$ref' && typeof value === 'string' ? refs.push(value) : collect(value)
  }
  collect(doc)
  for (const ref of new Set(refs)) t.not(atPointer(ref.replace(/^#/, '')), undefined, `${ref} resolves`)
})

t.test('every example in the document matches its own schema', async (t) => {
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const { value, pointer } = resolve<ResponseObject>(response, `/paths/${escapePointer(path)}/${method}/responses/${status}`)
        for (const [type, media] of Object.entries(value.content ?? {})) {
          const validate = schemaAt(`${pointer}/content/${escapePointer(type)}/schema`)
          const examples = [
            ...(media.example === undefined ? [] : [['example', media.example] as const]),
            ...Object.entries(media.examples ?? {}).map(([name, e]) => [name, e.value] as const),
          ]
          t.ok(examples.length > 0, `${method.toUpperCase()} ${path} ${status} has an example`)
          for (const [name, example] of examples) {
            t.ok(validate(example), `${method.toUpperCase()} ${path} ${status} example ${name}`, { errors: validate.errors })
          }
        }
      }
      for (const [i, parameter] of (operation.parameters ?? []).entries()) {
        const { value, pointer } = resolve<ParameterObject>(parameter, `/paths/${escapePointer(path)}/${method}/parameters/${i}`)
        if (value.example !== undefined) t.ok(schemaAt(`${pointer}/schema`)(value.example), `parameter ${value.name} example`)
      }
    }
  }
})

t.test('the document\'s schemas are the route schemas (no drift)', async (t) => {
  const components = doc.components.schemas
  // Component name -> route schema (CredentialStatusSchema carries a suffix only because its
  // type name is taken by the token service's CredentialStatus).
  // The LWA-compatible route's schemas are read off the route itself (routeSchemasOf).
  const compat = (await routeSchemasOf(lwaCompatRoutes({} as TokenRouteDeps))).get('POST /auth/o2/token')
  const compatResponses = (compat?.response ?? {}) as Record<string, unknown>
  const routeSchemas: Record<string, unknown> = {
    TokenResponse, ErrorResponse, HealthResponse, ReadyResponse,
    CredentialStatus: CredentialStatusSchema, CredentialListResponse, ReloadResponse,
    OnboardingRequest, OnboardingLink,
    LwaTokenRequest: compat?.body, LwaTokenResponse: compatResponses[200], LwaErrorResponse: compatResponses['4xx'],
  }
  for (const [name, schema] of Object.entries(routeSchemas)) {
    t.strictSame(stripAnnotations(components[name]), plain(schema), `components.schemas.${name} equals its route schema (src/routes/schemas.ts, or read off the route)`)
  }
  t.strictSame(Object.keys(components).sort(), Object.keys(routeSchemas).sort(), 'every component schema is a route schema checked here')

  // Request bodies: the schema the route validates, under every content type it documents.
  const bodies: Array<[string, unknown, string[]]> = [
    ['/admin/onboarding', OnboardingRequest, ['application/json']],
    ['/auth/o2/token', compat?.body, ['application/json', 'application/x-www-form-urlencoded']],
  ]
  for (const [path, schema, types] of bodies) {
    const requestBody = doc.paths[path]?.post?.requestBody
    t.equal(requestBody?.required, true, `POST ${path}: the body is required`)
    t.strictSame(Object.keys(requestBody?.content ?? {}).sort(), types, `POST ${path}: the body's content types`)
    for (const [type, media] of Object.entries(requestBody?.content ?? {})) {
      t.strictSame(stripAnnotations(media.schema), plain(schema), `POST ${path} ${type}: the body schema is the route's`)
    }
  }
  // Responses of POST /auth/o2/token: each documented status has the schema the route
  // serialises it with (its own, or its class's 4xx/5xx), under the narrowing of its codes.
  for (const [status, response] of Object.entries(doc.paths['/auth/o2/token']?.post?.responses ?? {})) {
    const media = resolve<ResponseObject>(response, '').value.content?.['application/json']
    const served = compatResponses[status] ?? compatResponses[`${status.charAt(0)}xx`]
    t.ok(served, `POST /auth/o2/token ${status}: the route has a response schema for it`)
    t.strictSame(stripAnnotations(baseOf(media?.schema)), plain(served), `POST /auth/o2/token ${status}: the documented schema is the route's`)
  }

  // The onboarding pages' path and query parameters, read off their routes the same way.
  const pages = await routeSchemasOf(onboardingPages({} as Onboarding, {} as AuditLog, { publicUrl: 'https://broker.example.test', rateLimit: { max: 30, timeWindowSeconds: 60 } }))
  t.strictSame([...pages.keys()].sort(), ['GET /oauth/callback', 'GET /onboarding/{link}'], 'the onboarding pages plugin serves the two documented pages')
  checkParameters(t, 'GET /onboarding/{link} path', parametersOf('/onboarding/{link}', 'get', 'path'), pages.get('GET /onboarding/{link}')?.params)
  checkParameters(t, 'GET /oauth/callback query', parametersOf('/oauth/callback', 'get', 'query'), pages.get('GET /oauth/callback')?.querystring)
  t.strictSame(parametersOf('/admin/onboarding', 'post', 'query'), [], 'POST /admin/onboarding takes no query parameter')

  const refresh = doc.paths['/admin/credentials/{name}/refresh']?.post
  const pathParameters = (refresh?.parameters ?? [])
    .map((p) => resolve<ParameterObject>(p, '').value)
    .filter((p) => p.in === 'path')
  const params = plain(CredentialParams) as { properties: Record<string, unknown>; required: string[] }
  t.strictSame(pathParameters.map((p) => p.name).sort(), Object.keys(params.properties).sort(), 'POST /admin/credentials/{name}/refresh documents exactly the path parameters CredentialParams has')
  for (const parameter of pathParameters) {
    t.strictSame(stripAnnotations(parameter.schema), params.properties[parameter.name], `path parameter ${parameter.name} schema equals CredentialParams.${parameter.name}`)
    t.equal(parameter.required, true, `path parameter ${parameter.name} is required`)
  }
  t.strictSame(params.properties.name, (plain(TokenQuery) as { properties: Record<string, unknown> }).properties.credential, 'a credential name has the same schema in the path as in GET /token')

  const operation = doc.paths['/token']?.get
  const tokenParameters = (operation?.parameters ?? [])
    .map((p) => resolve<ParameterObject>(p, '').value)
    .filter((p) => p.in === 'query')
  const tokenQuery = plain(TokenQuery) as { properties: Record<string, unknown>; required: string[] }
  t.strictSame(tokenParameters.map((p) => p.name).sort(), Object.keys(tokenQuery.properties).sort(), 'GET /token documents exactly the query parameters TokenQuery accepts')
  for (const parameter of tokenParameters) {
    t.strictSame(stripAnnotations(parameter.schema), tokenQuery.properties[parameter.name], `parameter ${parameter.name} schema equals TokenQuery.${parameter.name}`)
    t.equal(parameter.required ?? false, tokenQuery.required.includes(parameter.name), `parameter ${parameter.name} required matches TokenQuery`)
  }
})

t.test('every error code is documented under its own status', async (t) => {
  const tokenResponses = doc.paths['/token']?.get?.responses ?? {}
  for (const [code, status] of Object.entries(errorStatus) as [ErrorCode, number][]) {
    const documented = code === 'not_found' ? doc.components.responses.NotFound : tokenResponses[String(status)]
    if (!t.ok(documented, `${code}: ${status} is documented`) || !documented) continue
    const media = resolve<ResponseObject>(documented, '').value.content?.['application/json']
    t.ok(media && errorCodesOf(media.schema).includes(code), `${code} is listed under ${status}`)
  }
  // And no operation lists a code under a status other than its own. (LWA's codes on POST
  // /auth/o2/token are not the broker's: the responses covering them are checked below.)
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const media = resolve<ResponseObject>(response, '').value.content?.['application/json']
        if (media && isLwaError(media.schema)) continue
        for (const code of media ? errorCodesOf(media.schema) : []) {
          t.equal(errorStatus[code as ErrorCode], Number(status), `${method.toUpperCase()} ${path} ${status}: ${code} belongs to ${status}`)
        }
      }
    }
  }
})

/** The routes an app serves, as `METHOD /path/{param}`, read off `printRoutes()`. */
function servedRoutes(h: Harness): string[] {
  // printRoutes draws a tree: each line is a path segment under its parent, with its methods.
  const served: string[] = []
  const stack: string[] = []
  for (const line of h.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line)
    if (!match) continue
    const depth = (match[1] ?? '').length / 4
    stack.length = depth
    stack.push(match[2] ?? '')
    const path = stack.join('').replace(/:(\w+)/g, '{$1}')
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) served.push(`${method} ${path}`)
  }
  return served.sort()
}

t.test('the document lists exactly the routes the broker serves', async (t) => {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${path}`, op })))
  const documented = operations.map((o) => o.route).sort()
  const served = servedRoutes(await build(t, { config: withOnboarding }))
  t.ok(served.length >= 6, 'the route tree was read', { served })
  t.strictSame(served, documented, 'with onboarding configured: every served route is documented, and every documented one served')
  // The onboarding routes (tag `onboarding`) exist only when onboarding is configured.
  const withoutOnboarding = operations.filter((o) => !(o.op.tags ?? []).includes('onboarding')).map((o) => o.route).sort()
  t.equal(withoutOnboarding.length, documented.length - 3, 'three operations are tagged onboarding')
  t.strictSame(servedRoutes(await build(t)), withoutOnboarding, 'without it: every documented route but the onboarding ones')
})

// ---- Contract: real responses from the broker, every route and reachable status ----

const getToken = async (t: Test, h: Harness, credential: string, jwt: string | undefined, extraQuery = ''): Promise<LightMyRequestResponse> => {
  const res = await h.getToken(credential, jwt, extraQuery)
  checkAgainstSpec(t, 'GET', '/token', res)
  return res
}

t.test('GET /token 200 for each API, with the headers that API wants', async (t) => {
  const h = await build(t)
  const ads = await getToken(t, h, 'ads-us', await h.jwt())
  t.equal(ads.statusCode, 200)
  t.equal(ads.headers['cache-control'], 'no-store')
  t.strictSame(Object.keys(ads.json().headers), ['Authorization', 'Amazon-Advertising-API-ClientId', 'Amazon-Advertising-API-Scope'])

  const sp = await getToken(t, h, 'sp-acme-eu', await h.jwt(platformCaller), '&min_ttl=300')
  t.equal(sp.statusCode, 200)
  t.strictSame(Object.keys(sp.json().headers), ['x-amz-access-token'])

  const appstore = await getToken(t, h, 'appstore-main', await h.jwt(platformCaller), '&min_ttl=0')
  t.equal(appstore.statusCode, 200)
  t.strictSame(Object.keys(appstore.json().headers), ['Authorization'])
})

t.test('a caller\'s X-Request-Id is echoed; an unacceptable one is replaced', async (t) => {
  const h = await build(t)
  const kept = await h.app.inject({ url: '/token?credential=ads-us', headers: { 'x-request-id': 'caller-req.42' } })
  checkAgainstSpec(t, 'GET', '/token', kept)
  t.equal(kept.headers['x-request-id'], 'caller-req.42')
  t.equal(kept.json().request_id, 'caller-req.42')
  const replaced = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'not ok/with spaces' } })
  checkAgainstSpec(t, 'GET', '/healthz', replaced)
  t.not(replaced.headers['x-request-id'], 'not ok/with spaces')
})

t.test('GET /token 400 invalid_request', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt()
  const missing = await h.app.inject({ url: '/token', headers: { authorization: `Bearer ${jwt}` } })
  checkAgainstSpec(t, 'GET', '/token', missing)
  t.equal(missing.json().error, 'invalid_request')
  t.match(missing.json().message, /credential/)
  for (const extra of ['&min_ttl=abc', '&min_ttl=3001', '&min_ttl=-1', '&min_ttl=1.5']) {
    const res = await getToken(t, h, 'ads-us', jwt, extra)
    t.equal(res.json().error, 'invalid_request', `min_ttl ${extra}`)
  }
  const unknown = await getToken(t, h, 'ads-us', jwt, '&scope=other')
  t.equal(unknown.json().error, 'invalid_request', 'a query parameter the route does not know')
  const badName = await getToken(t, h, '-leading-dash', jwt)
  t.equal(badName.json().error, 'invalid_request', 'a credential name outside the pattern')
  t.equal(h.lwa.callCount({}), 0)
})

t.test('GET /token 401 unauthenticated', async (t) => {
  const h = await build(t)
  for (const jwt of [undefined, 'garbage', await h.jwt({ lifetimeSeconds: -120 })]) {
    const res = await getToken(t, h, 'ads-us', jwt)
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'unauthenticated')
    t.match(res.headers['www-authenticate'], /^Bearer /)
  }
})

t.test('GET /token 403 forbidden on a policy miss', async (t) => {
  const h = await build(t)
  const res = await getToken(t, h, 'ads-us', await h.jwt({ claims: { sub: 'system:serviceaccount:other:x' } }))
  t.equal(res.statusCode, 403)
  t.equal(res.json().error, 'forbidden')
})

t.test('GET /token 429 rate_limited past the caller\'s limit', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, rateLimit: { max: 1, unauthenticatedMax: 100 } }) })
  await getToken(t, h, 'ads-us', await h.jwt())
  const res = await getToken(t, h, 'ads-us', await h.jwt())
  t.equal(res.statusCode, 429)
  t.equal(res.json().error, 'rate_limited')
})

t.test('404: unknown_credential for an allowed name, not_found for an unknown route', async (t) => {
  const h = await build(t)
  const unknown = await getToken(t, h, 'ads-nope', await h.jwt())
  t.equal(unknown.json().error, 'unknown_credential')
  for (const [method, url] of [['GET', '/nope'], ['POST', '/token'], ['GET', '/token/extra']] as const) {
    const res = await h.app.inject({ method, url })
    checkAgainstSpec(t, method, url, res)
    t.equal(res.json().error, 'not_found', `${method} ${url}`)
  }
})

t.test('GET /token 502 credential_rejected when LWA refuses the grant', async (t) => {
  const h = await build(t)
  // Persistent, not failNext: DESIGN.md has the broker re-read the secret and retry once first.
  h.lwa.setFault({ kind: 'status', status: 400, error: 'invalid_grant' })
  const res = await getToken(t, h, 'ads-us', await h.jwt())
  h.lwa.setFault(null)
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'credential_rejected')
})

t.test('GET /token 502 credential_misconfigured when the secret lacks a field', async (t) => {
  const h = await build(t)
  const secrets = baseSecrets()
  secrets['lwa/ads-us'] = { ...(secrets['lwa/ads-us'] as Json), client_secret: undefined }
  h.writeSecrets(secrets)
  const later = new Date(Date.now() + 60_000)
  utimesSync(h.secretsPath, later, later) // the file store re-reads on a changed mtime
  const res = await getToken(t, h, 'ads-us', await h.jwt())
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'credential_misconfigured')
  t.match(res.json().message, /client_secret/)
  t.notMatch(res.json().message, /lwa\/ads-us/, 'the secret id does not reach the caller')
})

t.test('GET /token 503 upstream_unavailable', async (t) => {
  t.test('LWA answers 503', async (t) => {
    const h = await build(t)
    h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
    const res = await getToken(t, h, 'ads-us', await h.jwt())
    t.equal(res.json().error, 'upstream_unavailable')
  })
  t.test('LWA drops the connection', async (t) => {
    const h = await build(t)
    h.lwa.setFault({ kind: 'reset' })
    const res = await getToken(t, h, 'sp-acme-eu', await h.jwt(platformCaller))
    t.equal(res.json().error, 'upstream_unavailable')
  })
  t.test('the secret store cannot be read', async (t) => {
    const h = await build(t)
    rmSync(h.secretsPath)
    const res = await getToken(t, h, 'appstore-main', await h.jwt(platformCaller))
    t.equal(res.json().error, 'upstream_unavailable')
    t.equal(h.lwa.callCount({}), 0)
  })
})

t.test('GET /healthz 200, GET /readyz 200, and 503 while the secrets cannot be read', async (t) => {
  const h = await build(t)
  const health = await h.app.inject({ url: '/healthz' })
  checkAgainstSpec(t, 'GET', '/healthz', health)
  t.equal(health.statusCode, 200)
  const ready = await h.app.inject({ url: '/readyz' })
  checkAgainstSpec(t, 'GET', '/readyz', ready)
  t.equal(ready.statusCode, 200)

  const cold = await build(t)
  rmSync(cold.secretsPath)
  const notReady = await cold.app.inject({ url: '/readyz' })
  checkAgainstSpec(t, 'GET', '/readyz', notReady)
  t.equal(notReady.statusCode, 503)
  t.equal(notReady.json().checks.secrets, 'failing')
})

t.test('HEAD /token is not a route of the API: it must not obtain and audit a token only to drop it', async (t) => {
  const h = await build(t)
  const res = await h.app.inject({ method: 'HEAD', url: '/token?credential=ads-us', headers: { authorization: `Bearer ${await h.jwt()}` } })
  t.equal(res.statusCode, 404, 'HEAD /token is answered not_found like any method the document lacks')
  t.equal(h.lwa.callCount({}), 0, 'a HEAD request does not call LWA')
})

t.test('a request that arrives on an open connection while the broker drains is still served', async (t) => {
  const h = await build(t)
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 })
  const client = new Client(address, { pipelining: 2 })
  t.teardown(() => client.close())
  const jwt = await h.jwt()
  h.lwa.setFault({ kind: 'slow', ms: 300 })
  // The second request is pipelined behind the slow first one on the same keep-alive
  // connection, so it reaches the router after close() has begun.
  const first = client.request({ method: 'GET', path: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}` } })
  const second = client.request({ method: 'GET', path: '/token?credential=ads-us', headers: { authorization: `Bearer ${jwt}` } })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closing = h.app.close()
  const [served, drained] = await Promise.all([first, second])
  await served.body.dump()
  const body = await drained.body.text()
  await closing
  t.equal(served.statusCode, 200, 'the request in flight when close() began is served')
  t.equal(drained.statusCode, 200, 'the request that arrived while draining is served too')
  const headers = Object.fromEntries(Object.entries(drained.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]))
  checkAgainstSpec(t, 'GET', '/token', { statusCode: drained.statusCode, headers, json: (): unknown => JSON.parse(body) } as unknown as LightMyRequestResponse)
})

// ---- Admin API ----

/** An admin route; `body` is the JSON body a well-formed request sends (only POST /admin/onboarding takes one). */
interface AdminRoute { method: 'GET' | 'POST'; path: string; url: (name: string) => string; body?: Json }
const adminRoutes: Record<'list' | 'refresh' | 'reload' | 'onboarding', AdminRoute> = {
  list: { method: 'GET', path: '/admin/credentials', url: () => '/admin/credentials' },
  refresh: { method: 'POST', path: '/admin/credentials/{name}/refresh', url: (name) => `/admin/credentials/${name}/refresh` },
  reload: { method: 'POST', path: '/admin/secrets/reload', url: () => '/admin/secrets/reload' },
  onboarding: { method: 'POST', path: '/admin/onboarding', url: () => '/admin/onboarding', body: { credential: 'ads-us' } },
}

interface AdminCall { name?: string; headers?: Record<string, string>; payload?: string | Json; query?: string }
const callAdmin = async (t: Test, h: Harness, route: AdminRoute, jwt: string | undefined, call: AdminCall = {}): Promise<LightMyRequestResponse> => {
  const payload = call.payload ?? route.body
  const res = await h.app.inject({
    method: route.method,
    url: `${route.url(call.name ?? 'ads-us')}${call.query ?? ''}`,
    headers: { ...(jwt === undefined ? {} : { authorization: `Bearer ${jwt}` }), ...call.headers },
    ...(payload === undefined ? {} : { payload }),
  })
  checkAgainstSpec(t, route.method, route.path, res)
  return res
}

/** What an admin body must never show: tokens, secrets, and (as the document promises) client ids and secret ids. */
const neverShown: Array<[string, string]> = [
  ['an LWA access token', 'Atza|'],
  ['an LWA client_credentials token', 'Atc|'],
  ['an LWA refresh token', 'Atzr|'],
  ...[fixtures.adsClient, fixtures.spClient, fixtures.appstoreClient].flatMap((c): Array<[string, string]> => [
    [`the client secret of ${c.clientId}`, c.clientSecret],
    [`the client id ${c.clientId}`, c.clientId],
  ]),
  ['a secret id', 'lwa/'],
]
function assertNothingSecret(t: Test, what: string, body: string): void {
  for (const [label, value] of neverShown) t.notOk(body.includes(value), `${what}: no ${label}`)
}

t.test('GET /admin/credentials 200: every credential with its status, never a secret', async (t) => {
  const h = await build(t, withAdmin())
  const platform = await h.jwt(platformCaller)
  t.equal((await getToken(t, h, 'ads-us', await h.jwt())).statusCode, 200)
  t.equal((await getToken(t, h, 'sp-notifications', platform)).statusCode, 200)
  h.lwa.revokeRefreshToken(fixtures.spRefreshToken)
  t.equal((await getToken(t, h, 'sp-acme-eu', platform)).statusCode, 502)

  const res = await callAdmin(t, h, adminRoutes.list, await h.jwt(adminCaller))
  t.equal(res.statusCode, 200)
  const { credentials } = res.json() as { credentials: Array<Json & { secret_versions: Json | null; last_error: Json | null }> }
  t.strictSame(credentials.map((c) => c.credential), Object.keys(h.config.credentials), 'every configured credential, in config order')
  const [ads, sp, notifications, appstore] = credentials
  t.match(ads, { health: 'healthy', token_expires_at: String, last_refresh_at: String, secret_versions: { app: String, grant: String }, last_error: null })
  t.match(sp, { health: 'rejected', token_expires_at: null, secret_versions: null, last_error: { code: 'credential_rejected', lwa_error: 'invalid_grant', consecutive_failures: Number } })
  t.match(notifications, { health: 'healthy', secret_versions: { app: String, grant: null } }, 'a client_credentials grant has no grant secret')
  t.match(appstore, { health: 'healthy', token_expires_at: null, last_used_at: null, last_error: null }, 'a credential nobody asked for')
  assertNothingSecret(t, 'the credential list', res.body)
})

t.test('POST /admin/credentials/{name}/refresh 200: a new token now', async (t) => {
  const h = await build(t, withAdmin())
  const jwt = await h.jwt(adminCaller)
  const before = await getToken(t, h, 'ads-us', await h.jwt())
  const calls = h.lwa.callCount({})
  const res = await callAdmin(t, h, adminRoutes.refresh, jwt, { name: 'ads-us' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { credential: 'ads-us', api: 'ads', region: 'na', health: 'healthy', token_expires_at: String, last_error: null })
  t.equal(h.lwa.callCount({}), calls + 1, 'one call to LWA, although the cached token was still good')
  const after = await getToken(t, h, 'ads-us', await h.jwt())
  t.not(after.json().access_token, before.json().access_token, 'callers get the new token')
  assertNothingSecret(t, 'the refresh answer', res.body)

  const grantless = await callAdmin(t, h, adminRoutes.refresh, jwt, { name: 'sp-notifications' })
  t.equal(grantless.statusCode, 200)
  t.match(grantless.json(), { credential: 'sp-notifications', secret_versions: { app: String, grant: null } })
  assertNothingSecret(t, 'the refresh answer', grantless.body)
})

t.test('POST /admin/credentials/{name}/refresh 404 unknown_credential, for admins only', async (t) => {
  const h = await build(t, withAdmin())
  const unknown = await callAdmin(t, h, adminRoutes.refresh, await h.jwt(adminCaller), { name: 'ads-nope' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'unknown_credential')
  const nonAdmin = await callAdmin(t, h, adminRoutes.refresh, await h.jwt(platformCaller), { name: 'ads-nope' })
  t.equal(nonAdmin.json().error, 'forbidden', 'a non-admin learns nothing about which names exist')
  for (const [method, url] of [['GET', '/admin/credentials/ads-us/refresh'], ['DELETE', '/admin/credentials'], ['GET', '/admin/secrets/reload']] as const) {
    const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${await h.jwt(adminCaller)}` } })
    checkAgainstSpec(t, method, url, res)
    t.equal(res.json().error, 'not_found', `${method} ${url}`)
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('POST admin routes 400 invalid_request: a bad name, a bad URL, a body', async (t) => {
  const h = await build(t, withAdmin())
  const jwt = await h.jwt(adminCaller)
  for (const name of ['-leading-dash', 'a'.repeat(129), 'with%20space', '%zz']) {
    const res = await callAdmin(t, h, adminRoutes.refresh, jwt, { name })
    t.equal(res.json().error, 'invalid_request', `name ${name.slice(0, 20)}`)
  }
  const bodies: Array<[string, AdminCall]> = [
    ['an empty JSON body', { headers: { 'content-type': 'application/json' } }],
    ['a malformed JSON body', { headers: { 'content-type': 'application/json' }, payload: '{' }],
    ['an unsupported content type', { headers: { 'content-type': 'application/xml' }, payload: '<reload/>' }],
  ]
  for (const route of [adminRoutes.refresh, adminRoutes.reload]) {
    for (const [what, call] of bodies) {
      const res = await callAdmin(t, h, route, jwt, call)
      t.equal(res.json().error, 'invalid_request', `${route.path}: ${what}`)
    }
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('POST /admin/credentials/{name}/refresh 502 credential_rejected when LWA refuses the grant', async (t) => {
  const h = await build(t, withAdmin())
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const res = await callAdmin(t, h, adminRoutes.refresh, await h.jwt(adminCaller), { name: 'ads-us' })
  t.equal(res.statusCode, 502)
  t.equal(res.json().error, 'credential_rejected')
  t.match(res.json().message, /invalid_grant/)
  const list = await callAdmin(t, h, adminRoutes.list, await h.jwt(adminCaller))
  t.match(list.json().credentials[0], { credential: 'ads-us', health: 'rejected', last_error: { code: 'credential_rejected', lwa_error: 'invalid_grant' } })
})

t.test('POST /admin/credentials/{name}/refresh 503 upstream_unavailable when LWA is down', async (t) => {
  const h = await build(t, withAdmin())
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  const res = await callAdmin(t, h, adminRoutes.refresh, await h.jwt(adminCaller), { name: 'sp-acme-eu' })
  h.lwa.setFault(null)
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'upstream_unavailable')
})

t.test('POST /admin/secrets/reload 200: a fixed secret is used at once', async (t) => {
  const h = await build(t, withAdmin())
  const jwt = await h.jwt()
  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  t.equal((await getToken(t, h, 'ads-us', jwt)).json().error, 'credential_rejected')
  // The operator stores a new refresh token; the broker still backs off the rejected one.
  const renewed = 'Atzr|IwEBIAds-refresh-token-0002'
  h.lwa.addRefreshToken({ refreshToken: renewed, clientId: fixtures.adsClient.clientId })
  const secrets = baseSecrets()
  secrets['lwa/ads-us'] = { ...(secrets['lwa/ads-us'] as Json), refresh_token: renewed }
  h.writeSecrets(secrets)
  const later = new Date(Date.now() + 60_000)
  utimesSync(h.secretsPath, later, later)
  t.equal((await getToken(t, h, 'ads-us', jwt)).json().error, 'credential_rejected', 'backing off before the reload')

  const res = await callAdmin(t, h, adminRoutes.reload, await h.jwt(adminCaller))
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { reloaded_secrets: secretIdsOf(h.config).length })
  t.equal(res.json().reloaded_secrets, 4, 'lwa/ads-us, lwa/apps/sp, lwa/sellers/acme, lwa/appstore')
  t.equal((await getToken(t, h, 'ads-us', jwt)).statusCode, 200, 'the new secret is used at once')
})

t.test('admin routes 401 unauthenticated without a valid JWT', async (t) => {
  const h = await build(t, withAdmin())
  for (const route of Object.values(adminRoutes)) {
    for (const jwt of [undefined, 'garbage', await h.jwt({ ...adminCaller, lifetimeSeconds: -120 })]) {
      const res = await callAdmin(t, h, route, jwt)
      t.equal(res.statusCode, 401, `${route.path} with ${jwt === undefined ? 'no JWT' : 'a bad JWT'}`)
      t.equal(res.json().error, 'unauthenticated')
      t.match(res.headers['www-authenticate'], /^Bearer /)
    }
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('admin routes 403 forbidden for a caller that is not an admin', async (t) => {
  const h = await build(t, withAdmin())
  for (const route of Object.values(adminRoutes)) {
    for (const [who, caller] of [['a caller of some credentials', {}], ['a caller of every credential', platformCaller]] as const) {
      const res = await callAdmin(t, h, route, await h.jwt(caller))
      t.equal(res.statusCode, 403, `${route.path}: ${who}`)
      t.equal(res.json().error, 'forbidden')
      t.match(res.json().message, /is not an admin/)
    }
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('admin routes 429 rate_limited: admin calls share the caller\'s limit with GET /token', async (t) => {
  const h = await build(t, withAdmin((c) => ({ ...c, policy: [...(c.policy as unknown[]), { subject: adminSubject, credentials: ['ads-*'] }], rateLimit: { max: 1, unauthenticatedMax: 100 } })))
  const jwt = await h.jwt(adminCaller)
  t.equal((await getToken(t, h, 'ads-us', jwt)).statusCode, 200, 'the one request of the window')
  for (const route of Object.values(adminRoutes)) {
    const res = await callAdmin(t, h, route, jwt)
    t.equal(res.statusCode, 429, route.path)
    t.equal(res.json().error, 'rate_limited')
  }
})

// ---- Metrics, and the sidecar guard in front of the unauthenticated routes ----

t.test('GET /metrics 200: Prometheus text with the families the document lists', async (t) => {
  const h = await build(t)
  t.equal((await getToken(t, h, 'ads-us', await h.jwt())).statusCode, 200)
  t.equal((await getToken(t, h, 'appstore-main', await h.jwt(platformCaller))).statusCode, 200)
  const res = await h.ops.inject({ url: '/metrics' })
  checkAgainstSpec(t, 'GET', '/metrics', res)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.match(res.body, /^lwa_broker_tokens_issued_total\{credential="ads-us",outcome="issued"\} 1$/m)

  const exposed = [...res.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? '')
  const own = exposed.filter((name) => !/^lwa_broker_(process|nodejs)_/.test(name))
  const described = [...(doc.paths['/metrics']?.get?.description ?? '').matchAll(/`(lwa_broker_[a-z_]+)`/g)].map((m) => m[1] ?? '')
  t.strictSame([...new Set(described)].sort(), own.sort(), 'the description lists exactly the broker\'s own metric families')
  t.ok(exposed.some((name) => name.startsWith('lwa_broker_process_')) && exposed.some((name) => name.startsWith('lwa_broker_nodejs_')), 'and the default process metrics it mentions')
  for (const [label, value] of neverShown.filter(([label]) => !label.startsWith('a secret id'))) t.notOk(res.body.includes(value), `the metrics: no ${label}`)
})

t.test('sidecar mode: a proxied request is refused on every route', async (t) => {
  const h = await build(t, withAdmin((c) => ({ ...c, mode: 'sidecar', listen: { host: '127.0.0.1', port: 0 } })))
  const proxied = { 'x-forwarded-for': '10.1.2.3' }
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const res = await h.app.inject({ url: path, headers: proxied })
    checkAgainstSpec(t, 'GET', path, res)
    t.equal(res.json().error, 'forbidden', path)
    t.equal((await h.app.inject({ url: path })).statusCode, 200, `${path} over loopback is served`)
  }
  for (const route of Object.values(adminRoutes)) {
    const res = await callAdmin(t, h, route, await h.jwt(adminCaller), { headers: proxied })
    t.equal(res.json().error, 'forbidden', route.path)
  }
  // The routes with their own error shapes refuse it in their own words (the document says so).
  const compat = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: await h.jwt(platformCaller) }), { headers: proxied })
  t.equal(compat.statusCode, 400)
  t.equal(lwaErrorOf(t, compat, 'POST /auth/o2/token'), 'invalid_grant', 'POST /auth/o2/token: the sidecar refusal as LWA\'s invalid_grant')
  for (const [path, url] of [['/onboarding/{link}', `/onboarding/${'a'.repeat(32)}`], ['/oauth/callback', '/oauth/callback?state=x']] as const) {
    const res = await h.app.inject({ url, headers: proxied })
    checkAgainstSpec(t, 'GET', path, res)
    t.equal(res.statusCode, 403, path)
    t.match(res.body, /sidecar mode serves only direct loopback requests/, `${path}: the sidecar refusal, as a page`)
  }
  t.equal(h.lwa.callCount({}), 0)
})

// ---- Onboarding: the admin's link, then the two pages the account owner's browser sees ----

const onboardingCookie = 'lwa_broker_onboarding'

const requestLink = async (t: Test, h: Harness, credential: string): Promise<LightMyRequestResponse> =>
  callAdmin(t, h, adminRoutes.onboarding, await h.jwt(adminCaller), { payload: { credential } })

/** Opens a link as a browser would; the state Amazon will send back, and the cookie the browser will. */
async function openLink(t: Test, h: Harness, url: string): Promise<{ res: LightMyRequestResponse; location: URL | undefined; state: string; cookie: string | undefined }> {
  const res = await h.app.inject({ url: url.replace(publicUrl, '') })
  checkAgainstSpec(t, 'GET', '/onboarding/{link}', res)
  const location = typeof res.headers.location === 'string' ? new URL(res.headers.location) : undefined
  const cookie = res.cookies.find((c) => c.name === onboardingCookie)
  return { res, location, state: location?.searchParams.get('state') ?? '', cookie: cookie ? `${cookie.name}=${cookie.value}` : undefined }
}

/** A link opened at once: what the browser holds on Amazon's consent page. */
const startOnboarding = async (t: Test, h: Harness, credential: string) => openLink(t, h, (await requestLink(t, h, credential)).json().url as string)

/** What Amazon does on "Allow": a fresh code the LWA emulator exchanges for `refreshToken`. */
function approve(h: Harness, clientId: string, refreshToken: string): string {
  const code = `ANcode${Math.random().toString(36).slice(2)}`
  h.lwa.addAuthorizationCode({ code, clientId, redirectUri: `${publicUrl}/oauth/callback`, refreshToken })
  return code
}

async function callback(t: Test, h: Harness, query: Record<string, string>, cookie?: string): Promise<LightMyRequestResponse> {
  const res = await h.app.inject({ url: `/oauth/callback?${new URLSearchParams(query)}`, headers: cookie ? { cookie } : {} })
  checkAgainstSpec(t, 'GET', '/oauth/callback', res)
  return res
}

const storedSecret = (h: Harness, id: string): Json => JSON.parse(h.sm?.current(id)?.value ?? '{}') as Json

t.test('POST /admin/onboarding 200, GET /onboarding/{link} 302, GET /oauth/callback 200: the round trip, Ads and SP-API', async (t) => {
  const h = await build(t, { ...withAdmin(), secretsBackend: 'aws' })
  const link = await requestLink(t, h, 'ads-us')
  t.equal(link.statusCode, 200)
  t.match(link.json().url, new RegExp(`^${publicUrl}/onboarding/[A-Za-z0-9_-]{16,64}$`), 'a link under onboarding.publicUrl')
  t.equal(link.json().expires_at, new Date(h.clock.now() + 600_000).toISOString(), 'valid for linkTtlSeconds (600)')
  assertNothingSecret(t, 'the onboarding link', link.body)

  const ads = await openLink(t, h, link.json().url as string)
  t.equal(ads.res.statusCode, 302)
  t.equal(`${ads.location?.origin}${ads.location?.pathname}`, 'https://consent.example.test/ap/oa', 'the configured Ads consent URL')
  t.strictSame([...ads.location?.searchParams.keys() ?? []].sort(), ['client_id', 'redirect_uri', 'response_type', 'scope', 'state'])
  t.equal(ads.location?.searchParams.get('redirect_uri'), `${publicUrl}/oauth/callback`)
  t.match(ads.res.headers['set-cookie'], /^lwa_broker_onboarding=[^;]+; Max-Age=600; Path=\/oauth\/callback; HttpOnly; Secure; SameSite=Lax$/, 'the cookie as documented')
  const done = await callback(t, h, { code: approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIOnboarded-ads'), scope: 'advertising::campaign_management', state: ads.state }, ads.cookie)
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Credential ads-us is connected')
  t.notMatch(done.body, /Atz/, 'never a token on the page')
  t.equal(storedSecret(h, 'lwa/ads-us').refresh_token, 'Atzr|IwEBIOnboarded-ads', 'stored as a new version of the secret')

  const sp = await startOnboarding(t, h, 'sp-acme-eu')
  t.equal(sp.res.statusCode, 302)
  t.equal(`${sp.location?.origin}${sp.location?.pathname}`, 'https://sellercentral-europe.amazon.com/apps/authorize/consent', 'the default SP-API consent URL for eu')
  t.strictSame([...sp.location?.searchParams.keys() ?? []].sort(), ['application_id', 'redirect_uri', 'state', 'version'])
  const spDone = await callback(t, h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBIOnboarded-seller'), selling_partner_id: 'A3SELLERTEST1', state: sp.state }, sp.cookie)
  t.equal(spDone.statusCode, 200)
  t.strictSame(storedSecret(h, 'lwa/sellers/acme'), { refresh_token: 'Atzr|IwEBIOnboarded-seller', selling_partner_id: 'A3SELLERTEST1' })
})

t.test('POST /admin/onboarding 400 invalid_request: a body it cannot take, a credential it cannot onboard', async (t) => {
  const h = await build(t, withAdmin())
  const jwt = await h.jwt(adminCaller)
  const json = { 'content-type': 'application/json' }
  const cases: Array<[string, AdminCall]> = [
    ['an empty JSON body', { headers: json, payload: '' }],
    ['a malformed JSON body', { headers: json, payload: '{' }],
    ['a form body (JSON only)', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'credential=ads-us' }],
    ['no credential', { payload: {} }],
    ['a name outside the pattern', { payload: { credential: '-leading-dash' } }],
    ['another field', { payload: { credential: 'ads-us', region: 'na' } }],
    ['a query parameter', { query: '?credential=ads-us' }],
    ['a name that is not configured', { payload: { credential: 'ads-nope' } }],
    ['a client_credentials credential', { payload: { credential: 'sp-notifications' } }],
    ['an Appstore credential', { payload: { credential: 'appstore-main' } }],
  ]
  for (const [what, call] of cases) {
    const res = await callAdmin(t, h, adminRoutes.onboarding, jwt, call)
    t.equal(res.statusCode, 400, what)
    t.equal(res.json().error, 'invalid_request', what)
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('GET /onboarding/{link} 410 once used or expired, 400 for no link at all, 503 while the app secret cannot be read', async (t) => {
  const h = await build(t, withAdmin())
  const url = (await requestLink(t, h, 'ads-us')).json().url as string
  t.equal((await openLink(t, h, url)).res.statusCode, 302)
  const again = await openLink(t, h, url)
  t.equal(again.res.statusCode, 410, 'a link works once')
  t.match(again.res.body, /expired or was already used/)
  t.equal(again.res.headers['set-cookie'], undefined, 'no cookie on a failure page')
  const stale = (await requestLink(t, h, 'ads-us')).json().url as string
  h.clock.advance(601_000)
  t.equal((await openLink(t, h, stale)).res.statusCode, 410, 'a link older than linkTtlSeconds')

  const malformed = await openLink(t, h, `${publicUrl}/onboarding/not-a-link`)
  t.equal(malformed.res.statusCode, 400)
  t.match(malformed.res.headers['content-type'], /^text\/html/, 'a page, for a link id outside the pattern')
  const badlyEncoded = await openLink(t, h, `${publicUrl}/onboarding/%zz`)
  t.equal(badlyEncoded.res.statusCode, 400)
  t.equal(badlyEncoded.res.json().error, 'invalid_request', 'refused before routing: the JSON error, as documented')

  const unreadable = (await requestLink(t, h, 'ads-us')).json().url as string
  rmSync(h.secretsPath)
  const down = await openLink(t, h, unreadable)
  t.equal(down.res.statusCode, 503)
  t.match(down.res.body, /cannot be read right now/)
  writeFileSync(h.secretsPath, JSON.stringify(baseSecrets()))
  t.equal((await openLink(t, h, unreadable)).res.statusCode, 302, 'a 503 does not use the link up: "try again later" holds')
})

t.test('GET /oauth/callback 400: a state that is missing, forged, expired, reused or from another browser; declined; no code; a refused code', async (t) => {
  const h = await build(t, { ...withAdmin(), secretsBackend: 'aws' })
  const code = (): string => approve(h, fixtures.adsClient.clientId, 'Atzr|IwEBIShould-never-be-stored')
  const first = await startOnboarding(t, h, 'ads-us')
  const cases: Array<[string, () => Promise<{ query: Record<string, string>; cookie: string | undefined }>, RegExp]> = [
    ['no state', async () => ({ query: { code: code() }, cookie: first.cookie }), /not valid/],
    ['a forged state', async () => ({ query: { code: code(), state: 'eyJjcmVkZW50aWFsIjoiYWRzLXVzIn0.forged' }, cookie: first.cookie }), /not valid/],
    ['a malformed query', async () => ({ query: { code: code(), state: first.state, selling_partner_id: 'not upper case' }, cookie: first.cookie }), /not valid/],
    ['another browser (no cookie)', async () => ({ query: { code: code(), state: first.state }, cookie: undefined }), /browser that started it/],
    ['no code', async () => ({ query: { state: first.state }, cookie: first.cookie }), /did not send an authorization code/],
    ['a used state', async () => ({ query: { code: code(), state: first.state }, cookie: first.cookie }), /already completed or used/],
    ['declined on Amazon\'s page', async () => {
      const flow = await startOnboarding(t, h, 'ads-us')
      return { query: { error: 'access_denied', error_description: 'The user denied', state: flow.state }, cookie: flow.cookie }
    }, /declined/],
    ['a code LWA refuses', async () => {
      const flow = await startOnboarding(t, h, 'ads-us')
      return { query: { code: 'ANcode-never-issued', state: flow.state }, cookie: flow.cookie }
    }, /refused the authorization code \(invalid_grant\)/],
    ['an expired state', async () => {
      const flow = await startOnboarding(t, h, 'ads-us')
      h.clock.advance(601_000)
      return { query: { code: code(), state: flow.state }, cookie: flow.cookie }
    }, /expired/],
  ]
  for (const [what, make, why] of cases) {
    const { query, cookie } = await make()
    const res = await callback(t, h, query, cookie)
    t.equal(res.statusCode, 400, what)
    t.match(res.body, why, `${what}: the page says why`)
  }
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0, 'nothing stored')
})

t.test('GET /oauth/callback 409 while the credential\'s secret does not exist', async (t) => {
  const h = await build(t, { ...withAdmin(), secretsBackend: 'aws', secrets: (s) => Object.fromEntries(Object.entries(s).filter(([id]) => id !== 'lwa/sellers/acme')) })
  const flow = await startOnboarding(t, h, 'sp-acme-eu')
  t.equal(flow.res.statusCode, 302, 'the app secret is there')
  const res = await callback(t, h, { spapi_oauth_code: approve(h, fixtures.spClient.clientId, 'Atzr|IwEBINowhere-to-go'), state: flow.state }, flow.cookie)
  t.equal(res.statusCode, 409)
  t.match(res.body, /does not exist yet/)
  t.equal(h.sm?.callCount({ operation: 'PutSecretValue' }), 0)
})

t.test('GET /oauth/callback 503 when LWA is down, or the secrets backend cannot store', async (t) => {
  const aws = await build(t, { ...withAdmin(), secretsBackend: 'aws' })
  const flow = await startOnboarding(t, aws, 'ads-us')
  aws.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  const down = await callback(t, aws, { code: approve(aws, fixtures.adsClient.clientId, 'Atzr|IwEBINot-now'), state: flow.state }, flow.cookie)
  aws.lwa.setFault(null)
  t.equal(down.statusCode, 503)
  t.match(down.body, /Login with Amazon is unavailable/)

  const file = await build(t, withAdmin())
  const fileFlow = await startOnboarding(t, file, 'ads-us')
  const cannot = await callback(t, file, { code: approve(file, fixtures.adsClient.clientId, 'Atzr|IwEBINowhere'), state: fileFlow.state }, fileFlow.cookie)
  t.equal(cannot.statusCode, 503)
  t.match(cannot.body, /could not be stored/)
})

// ---- The LWA-compatible token endpoint ----

const compatPath = '/auth/o2/token'
const formOf = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()

/** POST /auth/o2/token with a form (a string) or JSON body, checked against the document. */
async function postCompat(t: Test, h: Harness, body: string | Json, call: { headers?: Record<string, string>; expect500?: string } = {}): Promise<LightMyRequestResponse> {
  const form = typeof body === 'string'
  const res = await h.app.inject({
    method: 'POST',
    url: compatPath,
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json', ...call.headers },
    payload: form ? body : JSON.stringify(body),
  })
  checkAgainstSpec(t, 'POST', compatPath, res, call.expect500 === undefined ? {} : { expect500: call.expect500 })
  return res
}

/** An LWA-shaped error's code, after checking the body is exactly LWA's two fields. */
function lwaErrorOf(t: Test, res: LightMyRequestResponse, what: string): unknown {
  const body = res.json() as Json
  t.strictSame(Object.keys(body).sort(), ['error', 'error_description'], `${what}: LWA's error fields, and only those`)
  return body.error
}

t.test('POST /auth/o2/token 200: form or JSON, the JWT as client_secret or a Bearer header', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platformCaller)
  const cases: Array<[string, string | Json, Record<string, string>]> = [
    ['form, client_secret', formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_id: 'amzn1.application-oa2-client.ignored', client_secret: jwt }), {}],
    ['JSON, client_secret', { grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: jwt, scope: 'ignored' }, {}],
    ['form, Bearer header', formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu' }), { authorization: `Bearer ${jwt}` }],
    ['a Bearer header wins over client_secret', formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: 'not-a-jwt' }), { authorization: `Bearer ${jwt}` }],
  ]
  for (const [what, body, headers] of cases) {
    const res = await postCompat(t, h, body, { headers })
    t.equal(res.statusCode, 200, what)
    t.strictSame(Object.keys(res.json()).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'], `${what}: exactly LWA's fields`)
    t.match(res.json(), { refresh_token: 'sp-acme-eu', token_type: 'bearer' }, `${what}: the credential name echoed`)
  }
  t.equal(h.lwa.callCount({}), 1, 'one LWA call: the broker\'s cache answers')
})

t.test('POST /auth/o2/token 400: invalid_request, unsupported_grant_type, invalid_grant', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platformCaller)
  const reporter = await h.jwt()
  const cases: Array<[string, string | Json, Record<string, string>, string]> = [
    ['no grant_type', formOf({ refresh_token: 'ads-us', client_secret: jwt }), {}, 'invalid_request'],
    ['no refresh_token', formOf({ grant_type: 'refresh_token', client_secret: jwt }), {}, 'invalid_request'],
    ['a refresh_token that cannot be a credential name', formOf({ grant_type: 'refresh_token', refresh_token: 'Atzr|a-real-looking-refresh-token', client_secret: jwt }), {}, 'invalid_request'],
    ['malformed JSON', '{"grant_type":', { 'content-type': 'application/json' }, 'invalid_request'],
    ['a JSON array', [] as unknown as Json, {}, 'invalid_request'],
    ['an unsupported content type', '<grant/>', { 'content-type': 'application/xml' }, 'invalid_request'],
    ['a form over 16 KiB', formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: 'x'.repeat(17 * 1024) }), {}, 'invalid_request'],
    ['another grant type', formOf({ grant_type: 'client_credentials', scope: 'sellingpartnerapi::notifications', client_secret: jwt }), {}, 'unsupported_grant_type'],
    ['an unknown credential', formOf({ grant_type: 'refresh_token', refresh_token: 'ads-nope', client_secret: reporter }), {}, 'invalid_grant'],
    ['a credential the caller may not use', formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: reporter }), {}, 'invalid_grant'],
  ]
  for (const [what, body, headers, error] of cases) {
    const res = await postCompat(t, h, body, { headers })
    t.equal(res.statusCode, 400, what)
    t.equal(lwaErrorOf(t, res, what), error, what)
  }
  t.equal(h.lwa.callCount({}), 0)

  h.lwa.revokeRefreshToken(fixtures.adsRefreshToken)
  const rejected = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: jwt }))
  t.equal(rejected.statusCode, 400)
  t.equal(lwaErrorOf(t, rejected, 'LWA refused the grant'), 'invalid_grant', 'the broker\'s credential_rejected in LWA\'s words')

  for (const method of ['GET', 'PUT'] as const) {
    const res = await h.app.inject({ method, url: compatPath })
    checkAgainstSpec(t, method, compatPath, res)
    t.equal(res.json().error, 'not_found', `${method} ${compatPath}: the broker's own not_found`)
  }
})

t.test('POST /auth/o2/token 401 invalid_client without an acceptable JWT', async (t) => {
  const h = await build(t)
  const expired = await h.jwt({ ...platformCaller, lifetimeSeconds: -120 })
  for (const [what, secret] of [['no JWT', undefined], ['not a JWT', fixtures.adsClient.clientSecret], ['an expired JWT', expired]] as const) {
    const res = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', ...(secret === undefined ? {} : { client_secret: secret }) }))
    t.equal(res.statusCode, 401, what)
    t.equal(lwaErrorOf(t, res, what), 'invalid_client', what)
    t.equal(res.headers['www-authenticate'], undefined, `${what}: no WWW-Authenticate, as LWA`)
  }
  t.equal(h.lwa.callCount({}), 0)
})

t.test('POST /auth/o2/token 429 temporarily_unavailable: one budget with GET /token', async (t) => {
  const h = await build(t, { config: (c) => ({ ...c, rateLimit: { max: 1, unauthenticatedMax: 100 } }) })
  const jwt = await h.jwt(platformCaller)
  t.equal((await getToken(t, h, 'ads-us', jwt)).statusCode, 200, 'the one request of the window')
  const res = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: jwt }))
  t.equal(res.statusCode, 429)
  t.equal(lwaErrorOf(t, res, 'rate limited'), 'temporarily_unavailable')
})

t.test('POST /auth/o2/token 500 server_error for a misconfigured credential', async (t) => {
  const h = await build(t)
  const secrets = baseSecrets()
  secrets['lwa/ads-us'] = { ...(secrets['lwa/ads-us'] as Json), client_secret: undefined }
  h.writeSecrets(secrets)
  const res = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'ads-us', client_secret: await h.jwt() }), { expect500: 'LWA has no 502: credential_misconfigured is its server_error' })
  t.equal(lwaErrorOf(t, res, 'misconfigured'), 'server_error')
  t.match(res.json().error_description, /misconfigured/, 'not the description of a bug')
  t.equal(h.lwa.callCount({}), 0)
})

t.test('POST /auth/o2/token 503 temporarily_unavailable with Retry-After', async (t) => {
  const h = await build(t)
  const jwt = await h.jwt(platformCaller)
  h.lwa.setFault({ kind: 'status', status: 503, error: 'temporarily_unavailable' })
  const lwaDown = await postCompat(t, h, formOf({ grant_type: 'refresh_token', refresh_token: 'sp-acme-eu', client_secret: jwt }))
  h.lwa.setFault(null)
  t.equal(lwaDown.statusCode, 503)
  t.equal(lwaErrorOf(t, lwaDown, 'LWA down'), 'temporarily_unavailable')
  rmSync(h.secretsPath)
  const storeDown = await postCompat(t, h, { grant_type: 'refresh_token', refresh_token: 'appstore-main', client_secret: jwt })
  t.equal(storeDown.statusCode, 503)
  t.equal(lwaErrorOf(t, storeDown, 'secret store down'), 'temporarily_unavailable')
})

// ---- Coverage of the contract itself ----

/** Documented responses no request can produce today, and why. */
const unreachable: Record<string, string> = {
  'GET /token 500': 'internal_error is always a bug',
  'GET /healthz 500': 'internal_error is always a bug',
  'GET /readyz 500': 'internal_error is always a bug',
  'GET /metrics 500': 'internal_error is always a bug',
  'GET /admin/credentials 500': 'internal_error is always a bug',
  'POST /admin/credentials/{name}/refresh 500': 'internal_error is always a bug',
  'POST /admin/secrets/reload 500': 'internal_error is always a bug',
  'POST /admin/onboarding 500': 'internal_error is always a bug',
  'GET /oauth/callback 410': 'the config cannot change while the broker runs, so a credential that could be onboarded when its link was made still can at the callback',
}
const unreachableCodes = new Set<string>(['internal_error'])

t.test('the contract test covered every documented response and error code', async (t) => {
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      for (const status of Object.keys(operation.responses)) {
        const key = `${method.toUpperCase()} ${path} ${status}`
        if (unreachable[key]) t.notOk(seen.responses.has(key), `${key} not produced (${unreachable[key]})`)
        else t.ok(seen.responses.has(key), `${key} was produced and checked`)
      }
    }
  }
  for (const code of Object.keys(errorStatus)) {
    if (unreachableCodes.has(code)) t.notOk(seen.codes.has(code), `${code} not produced`)
    else t.ok(seen.codes.has(code), `${code} was produced and checked`)
  }
  // LWA's codes belong to a status only on their operation: each listed one was produced there.
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const media = resolve<ResponseObject>(response, '').value.content?.['application/json']
        if (!media || !isLwaError(media.schema)) continue
        for (const code of errorCodesOf(media.schema)) {
          const key = `${method.toUpperCase()} ${path} ${status} ${code}`
          t.ok(seen.lwaCodes.has(key), `${key} was produced and checked`)
        }
      }
    }
  }
  t.strictSame(seen.unexpected500s, [], 'no response in this test was a 500 no test expected')
})
