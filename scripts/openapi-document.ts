import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { stringify } from 'yaml'
import { createBroker } from '../src/http/broker.js'
import { parseConfig } from '../src/config/index.js'
import { ErrorResponse } from '../src/http/contract/common.js'
import { callerServer, documentInfo, documentTags, opsServer, securitySchemes } from '../src/http/contract/document.js'

type Json = Record<string, unknown>

/** A broker with every route there is (onboarding and the catalogue on), which never starts: only its route table is read. */
const config = parseConfig({
  secrets: { backend: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:1' },
  catalogue: {},
  issuers: [{ issuer: 'https://issuer.example', audiences: ['lwa-broker'], algorithms: ['ES256'], jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] } }],
  onboarding: { publicUrl: 'https://lwa-broker.example.com' },
  credentials: {},
}, '/generated/broker.yaml')

export async function generateOpenApi(): Promise<string> {
  const swaggerPlugin = async (app: FastifyInstance): Promise<void> => {
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: documentInfo, components: { securitySchemes } } })
  }
  const broker = await createBroker(config, { logger: pino({ level: 'silent' }) }, { plugins: [swaggerPlugin] })
  try {
    await Promise.all([broker.app.ready(), broker.ops.ready()])
    const caller = broker.app.swagger() as Json
    const ops = broker.ops.swagger() as Json
    return stringify(assemble(caller, ops), { lineWidth: 120, aliasDuplicateObjects: false })
  } finally {
    await Promise.all([broker.app.close(), broker.ops.close()])
    await broker.services.close()
  }
}

/** One document for both listeners: /metrics from the ops listener, the probes on both, shared parts as components. */
function assemble(caller: Json, ops: Json): Json {
  const paths = { ...(caller.paths as Json) }
  for (const [path, item] of Object.entries(ops.paths as Json)) {
    paths[path] = { ...(paths[path] as Json | undefined ?? item as Json), servers: paths[path] ? [callerServer, opsServer] : [opsServer] }
  }
  // The shape every error of the JSON routes has; each route narrows `error` per status.
  const { title: _title, ...errorResponse } = JSON.parse(JSON.stringify(ErrorResponse)) as Json
  const components = { securitySchemes, schemas: { ErrorResponse: errorResponse } as Json, headers: {} as Json, parameters: {} as Json }
  const shared = hoist(tidy(paths), components) as Json
  return { openapi: '3.1.0', info: documentInfo, servers: [callerServer], tags: documentTags, paths: shared, components }
}

/** A media schema repeats its response's description (swagger copies it): dropped. */
function tidy(paths: Json): Json {
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item as Json)) {
      const responses = (operation as Json).responses as Record<string, Json> | undefined
      for (const response of Object.values(responses ?? {})) {
        for (const media of Object.values((response.content ?? {}) as Record<string, Json>)) {
          const schema = media.schema as Json | undefined
          if (schema && schema.description === response.description) delete schema.description
        }
      }
    }
  }
  return paths
}

interface Components { schemas: Json; headers: Json; parameters: Json }

/**
 * The parts many operations share, written once under `components` and referenced: titled
 * schemas, each route's error schema as ErrorResponse narrowed to its codes, response
 * headers, and the X-Request-Id parameter.
 */
function hoist(node: unknown, components: Components, key?: string): unknown {
  if (Array.isArray(node)) return node.map((n) => (key === 'parameters' ? shareParameter(hoist(n, components) as Json, components) : hoist(n, components)))
  if (node === null || typeof node !== 'object') return node
  const copy: Json = {}
  for (const [k, value] of Object.entries(node as Json)) copy[k] = hoist(value, components, k)
  if (key === 'responses') {
    for (const response of Object.values(copy) as Json[]) if (response.headers) response.headers = shareHeaders(response.headers as Json, components)
  }
  const title = copy.title
  if (typeof title !== 'string' || copy.type !== 'object') return copy
  const { title: _title, ...schema } = copy
  if (title === 'ErrorResponse') return narrowedError(schema)
  const known = components.schemas[title]
  if (known !== undefined && JSON.stringify(known) !== JSON.stringify(schema)) return copy
  components.schemas[title] = schema
  return { $ref: `#/components/schemas/${title}` }
}

function narrowedError(schema: Json): Json {
  const error = ((schema.properties as Json).error ?? {}) as Json
  return { allOf: [{ $ref: '#/components/schemas/ErrorResponse' }, { type: 'object', properties: { error: { enum: error.enum } } }] }
}

/** A response header identical everywhere it appears becomes `components.headers.<name>`. */
function shareHeaders(headers: Json, components: Components): Json {
  const out: Json = {}
  for (const [name, header] of Object.entries(headers)) {
    const id = name.replace(/-/g, '')
    const known = components.headers[id]
    if (known === undefined) components.headers[id] = header
    out[name] = known === undefined || JSON.stringify(known) === JSON.stringify(header) ? { $ref: `#/components/headers/${id}` } : header
  }
  return out
}

function shareParameter(parameter: Json, components: Components): Json {
  if (parameter.in !== 'header' || parameter.name !== 'x-request-id') return parameter
  components.parameters.RequestIdIn ??= parameter
  return { $ref: '#/components/parameters/RequestIdIn' }
}
