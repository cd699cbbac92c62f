/** The HTTP methods the Tokens API's RestrictedResource allows (tokens_2021-03-01.json). */
export const restrictedMethods = ['GET', 'PUT', 'POST', 'DELETE'] as const
/** More than any one call needs; bounds what one cache key and one audit line hold. */
export const maxRestrictedResources = 50

export interface RestrictedResource {
  method: (typeof restrictedMethods)[number]
  path: string
  dataElements?: string[]
}

/** One request's resources in one canonical order, and the key its RDT is cached under. */
export interface ResourceSet {
  resources: RestrictedResource[]
  targetApplication: string | undefined
  /** The paths, for policy and the audit line. */
  paths: string[]
  /**
   * The set in one canonical text: the same resources in any order, or twice, are one set. The
   * local cache's key as it is; hashed only for a key in Redis (a cache miss).
   */
  text: string
}

/**
 * The same resources asked in another order, with data elements in another order, or twice,
 * are one RDT: Amazon's token covers exactly the set, whatever order it was written in.
 */
export function resourceSet(resources: readonly RestrictedResource[], targetApplication?: string): ResourceSet {
  const only = resources.length === 1 ? resources[0] : undefined
  if (only) return oneResourceSet(only.method, only.path, only.dataElements?.join(','), targetApplication)
  const sorted = [...new Map(resources.map(canonical)).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return {
    resources: sorted.map(([, r]) => r),
    targetApplication,
    paths: [...new Set(sorted.map(([, r]) => r.path))],
    text: `${targetApplication ?? ''}\n${sorted.map(([id]) => id).join('\n')}`,
  }
}

/** One-resource sets by how they were asked: callers ask the same few again and again. */
const askedSets = new Map<string, ResourceSet>()
/** Beyond this many (distinct orders, say), the memo starts again rather than grow. */
const maxAskedSets = 4096

/**
 * Most calls open one resource (the GET form's `dataElements` comma-separated): its set is made
 * once per way of asking, not per request, and its text is then the same string each time.
 */
export function oneResourceSet(method: RestrictedResource['method'], path: string, dataElements?: string,
  targetApplication?: string): ResourceSet {
  const asked = `${targetApplication ?? ''} ${method} ${path} ${dataElements ?? ''}`
  let set = askedSets.get(asked)
  if (!set) {
    const elements = dataElements ? { dataElements: dataElements.split(',') } : {}
    const [id, resource] = canonical({ method, path, ...elements })
    const text = `${targetApplication ?? ''}\n${id}`
    set = { resources: [resource], targetApplication, paths: [resource.path], text }
    if (askedSets.size >= maxAskedSets) askedSets.clear()
    askedSets.set(asked, set)
  }
  return set
}

/** A resource with its data elements sorted and once each, and its text: equal resources, equal texts. */
function canonical(r: RestrictedResource): [string, RestrictedResource] {
  const dataElements = r.dataElements && [...new Set(r.dataElements)].sort()
  const resource: RestrictedResource = { method: r.method, path: r.path, ...(dataElements ? { dataElements } : {}) }
  return [JSON.stringify(resource), resource]
}

/** How an error or a log line names the resources: `GET /orders/v0/orders/…/address, …`. */
export const describeResources = (set: ResourceSet): string =>
  set.resources.map((r) => `${r.method} ${r.path}`).join(', ')
