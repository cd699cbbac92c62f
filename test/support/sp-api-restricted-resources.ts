// Which restricted resources the Tokens API accepts, and which resources an RDT covers
// (tokens_2021-03-01.json and the Tokens API use case guide). Paths may be concrete
// (`/orders/v0/orders/123-1234567-1234567/address`) or templates (`/orders/v0/orders/{orderId}/address`).

export interface RestrictedResource { method: string; path: string; dataElements?: string[] }

interface Shape { method: string; template: string; pattern: RegExp; dataElements?: readonly string[] }

const methods: readonly string[] = ['GET', 'PUT', 'POST', 'DELETE']
const maxResources = 50
const orderElements = ['buyerInfo', 'shippingAddress', 'buyerTaxInformation'] as const
// The operations whose RDT must say which PII it is for (the model: "required only when ...").
const shapes: readonly Shape[] = [
  shape('GET', '/orders/v0/orders', orderElements),
  shape('GET', '/orders/v0/orders/{orderId}', orderElements),
  shape('GET', '/orders/v0/orders/{orderId}/orderItems', ['buyerInfo']),
  shape('GET', '/orders/v0/orders/{orderId}/address'),
  shape('GET', '/orders/v0/orders/{orderId}/buyerInfo'),
  shape('GET', '/orders/v0/orders/{orderId}/orderItems/buyerInfo'),
  shape('GET', '/mfn/v0/shipments/{shipmentId}'),
  shape('POST', '/mfn/v0/shipments'),
  shape('GET', '/reports/2021-06-30/documents/{reportDocumentId}'),
]

function shape(method: string, template: string, dataElements?: readonly string[]): Shape {
  return { method, template, pattern: templatePattern(template), ...(dataElements ? { dataElements } : {}) }
}

/** `{name}` matches one path segment (a literal `{orderId}` too, as Amazon's sandbox sample sends). */
function templatePattern(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
  return new RegExp('^' + escaped.replace(/\{[^/}]+\}/g, '[^/]+') + '$')
}

export interface Accepted { resource: RestrictedResource; template: string }
export type Classified = Accepted | { invalid: string }

/** A resource from a request body, checked the way the Tokens API does; `invalid` names what is wrong. */
export function classify(raw: unknown): Classified {
  if (typeof raw !== 'object' || raw === null) return { invalid: 'Resource not provided.' }
  const { method, path, dataElements } = raw as Record<string, unknown>
  if (typeof method !== 'string' || typeof path !== 'string' || path === '') {
    return { invalid: 'Resource not provided.' }
  }
  const named = `${method} ${path}`
  if (!methods.includes(method)) return { invalid: `Invalid method in resource ${named}.` }
  const found = shapes.find((s) => s.pattern.test(path) && s.method === method)
  if (!found) return { invalid: `Resource ${named} is not a restricted resource.` }
  const resource: RestrictedResource = { method, path }
  if (dataElements !== undefined) {
    const allowed = found.dataElements ?? []
    const known = (e: unknown): e is string => typeof e === 'string' && allowed.includes(e)
    if (!Array.isArray(dataElements) || !dataElements.every(known)) {
      return { invalid: `Invalid dataElements for resource ${named}.` }
    }
    resource.dataElements = [...dataElements]
  }
  if (found.dataElements && (resource.dataElements?.length ?? 0) === 0) {
    return { invalid: `Resource ${named} needs dataElements.` }
  }
  return { resource, template: found.template }
}

/** True when `rule` (a concrete path or a template) names this resource. */
export function names(rule: string, classified: Accepted): boolean {
  return rule === classified.resource.path || rule === classified.template
}

/**
 * Whether an RDT minted for `resources` may make the call `method path`. A generic
 * `/orders/v0/orders` RDT covers a specific order's resource when it has the needed data element.
 */
export function covers(
  resources: readonly RestrictedResource[], method: string, path: string, dataElement?: string,
): boolean {
  return resources.some((r) => r.method === method && (
    templatePattern(r.path).test(path) ||
    (dataElement !== undefined && r.path === '/orders/v0/orders' && (r.dataElements ?? []).includes(dataElement))
  ))
}

export type RdtRequest =
  | { resources: RestrictedResource[]; targetApplication?: string }
  | { invalid: string }
  | { forbidden: true }

/** A createRestrictedDataToken body; `refused` says which accepted resources the app may not have. */
export function parseRdtRequest(body: string, refused: (accepted: Accepted) => boolean): RdtRequest {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return { invalid: 'The request body is not JSON.' }
  }
  const { restrictedResources, targetApplication } = (parsed ?? {}) as Record<string, unknown>
  if (targetApplication !== undefined && typeof targetApplication !== 'string') return { invalid: 'Invalid targetApplication.' }
  if (!Array.isArray(restrictedResources) || restrictedResources.length === 0) return { invalid: 'Resource not provided.' }
  if (restrictedResources.length > maxResources) return { invalid: `At most ${maxResources} resources.` }
  const resources: RestrictedResource[] = []
  for (const raw of restrictedResources) {
    const classified = classify(raw)
    if ('invalid' in classified) return classified
    if (refused(classified)) return { forbidden: true }
    resources.push(classified.resource)
  }
  return { resources, ...(typeof targetApplication === 'string' ? { targetApplication } : {}) }
}
