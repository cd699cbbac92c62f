/** Hosts whose traffic never leaves the machine: plain http:// to them is fine (tests, the demo, a local agent). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Whether a URL may carry tokens or keys: https://, or http:// to a loopback host, or
 * anything when the operator explicitly allowed insecure endpoints.
 */
export function isAcceptableUrl(url: string, allowInsecure: boolean): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return parsed.protocol === 'https:'
    || allowInsecure
    || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))
}
