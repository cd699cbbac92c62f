/**
 * openapi.yaml is the contract (DESIGN.md, "HTTP surface"), written by the code: the route
 * schemas of src/http/contract are its source. Here: the committed file is what the code
 * generates, it is valid OpenAPI 3.1, its examples match their schemas, and every error code
 * is documented under its own status. That real responses match it, every test shows as it
 * runs (test/support/contract.ts); that each documented response was produced, the check
 * after the suite (test/support/contract-coverage.ts).
 */
import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import t from 'tap'
import { generateOpenApi } from '../../scripts/openapi-document.js'
import { errorCodes } from '../../src/errors.js'
import { httpStatus } from '../../src/http/status.js'
import { doc } from '../support/contract.js'

type Json = Record<string, unknown>
const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')

t.test('openapi.yaml is what the code generates (npm run openapi writes it)', async (t) => {
  t.equal(await generateOpenApi(), committed, 'regenerate with `npm run openapi` and commit the result')
})

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const result = await new Validator().validate(doc as unknown as Json)
  t.ok(result.valid, 'valid', { errors: result.errors })
})

/** Every example in the document, with the schema it illustrates. */
function examples(): Array<[string, unknown, Json]> {
  const found: Array<[string, unknown, Json]> = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'servers') continue
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
          for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, { value: unknown }>)) {
            found.push([`${method.toUpperCase()} ${path} ${status} ${type} ${name}`, example.value, media.schema as Json])
          }
        }
      }
    }
  }
  return found
}

/** `#/components/…` refs resolved against the document added under urn:lwa-broker:doc. */
function rebase(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"urn:lwa-broker:doc#/components/')) as Json
}

t.test('every example in the document matches its own schema', async (t) => {
  const ajv = new Ajv2020({ strict: false })
  addFormatsModule.default(ajv)
  ajv.addSchema({ ...structuredClone(doc), $id: 'urn:lwa-broker:doc' })
  const all = examples()
  t.ok(all.length >= 20, `the document has examples (${all.length})`)
  for (const [where, value, schema] of all) {
    const validate = ajv.compile(rebase(schema))
    t.ok(validate(value), where, { errors: validate.errors })
  }
})

t.test('every error code is documented, each only under its own status', async (t) => {
  const listed = new Set<string>()
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'servers' || path === '/auth/o2/token') continue
      for (const [status, response] of Object.entries(operation.responses)) {
        const schema = ((response.content as Record<string, Json> | undefined)?.['application/json']?.schema ?? {}) as Json
        const narrowed = ((schema.allOf as Json[] | undefined)?.[1]?.properties as Json | undefined)?.error as { enum?: string[] } | undefined
        for (const code of narrowed?.enum ?? []) {
          t.equal(String(httpStatus[code as keyof typeof httpStatus]), status, `${method.toUpperCase()} ${path} ${status}: ${code} belongs to ${status}`)
          listed.add(code)
        }
      }
    }
  }
  const description = (doc as unknown as { info: { description: string } }).info.description
  for (const code of errorCodes) {
    // These two are answered before any route is known: the document describes them once, for all.
    if (code === 'request_timeout' || code === 'not_found') t.match(description, code, `${code} is described for every route`)
    else t.ok(listed.has(code), `${code} is listed under some operation`)
  }
})
