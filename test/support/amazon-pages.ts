// The pieces every emulated Amazon page is made of (LWA consent, Seller Central's Appstore and
// confirm pages): HTML pages with Allow/Cancel forms, error pages, redirects back to the app,
// and the checks both consent flows make on redirect_uri and state.
import type { IncomingMessage } from 'node:http'

export interface Reply {
  status: number
  contentType: string
  body: string
  error?: string
  retryAfter?: string
  location?: string
}

const maxFormBytes = 64 * 1024

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

export function htmlPage(title: string, content: readonly string[]): Reply {
  const body = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>Amazon (emulator): ${escapeHtml(title)}</title></head><body>`,
    ...content,
    '</body></html>',
  ].join('\n')
  return { status: 200, contentType: 'text/html;charset=UTF-8', body }
}

export function errorPage(status: number, title: string, message: string): Reply {
  const body = '<!doctype html>\n<html><head><meta charset="utf-8">' +
    `<title>Amazon (emulator): ${escapeHtml(title)}</title></head>` +
    `<body><h1>${status} ${escapeHtml(title)}</h1><p id="error">${escapeHtml(message)}</p></body></html>`
  return { status, contentType: 'text/html;charset=UTF-8', body }
}

/**
 * The page a person decides on: `asking` (HTML) above a form posting `hidden` to `action` with
 * an Allow or a Cancel button, as plain a form as Amazon's, so a headless browser can click it.
 */
export function decisionPage(action: string, asking: string, hidden: ReadonlyArray<[string, string]>): Reply {
  return htmlPage('authorize', [
    '<h1>Amazon (emulator): authorize</h1>',
    asking,
    `<form method="post" action="${action}">`,
    ...hidden.map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`),
    '<button id="allow" name="decision" value="allow">Allow</button>',
    '<button id="deny" name="decision" value="deny">Cancel</button>',
    '</form>',
  ])
}

/** A 302 to redirectUri with params added to whatever query it already has. */
export function redirect(redirectUri: string, params: Record<string, string>): Reply {
  const target = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value)
  return { status: 302, contentType: 'text/html;charset=UTF-8', body: '', location: target.toString() }
}

/** Where Cancel sends the browser: back to the app, with its state, and nothing granted. */
export function denied(redirectUri: string, state: string): Reply {
  return redirect(redirectUri, {
    error: 'access_denied',
    error_description: 'The user denied the authorization request',
    state,
  })
}

/**
 * redirect_uri and state, which both consent flows need. Stricter than Amazon on purpose:
 * Amazon lets SP-API fall back to the app's first registered redirect URI and Ads omit state,
 * but a broker that leans on either is broken (the callback must be its own; state is its CSRF check).
 */
export function consentCommon(fields: URLSearchParams): { redirectUri: string; state: string } | Reply {
  const redirectUri = fields.get('redirect_uri') ?? ''
  let parsed: URL | undefined
  try {
    parsed = new URL(redirectUri)
  } catch {
    parsed = undefined
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    return errorPage(400, 'Bad Request', 'The request has an invalid parameter : redirect_uri.')
  }
  const state = fields.get('state') ?? ''
  if (state === '') return errorPage(400, 'Bad Request', 'The request is missing a required parameter : state.')
  return { redirectUri, state }
}

/** A page's query (GET), or a decision form's fields (POST); anything else is a 405 or 400 page. */
export async function pageFields(req: IncomingMessage, isPage: boolean): Promise<URLSearchParams | Reply> {
  if (req.method !== (isPage ? 'GET' : 'POST')) {
    return errorPage(405, 'Method Not Allowed', `${req.method ?? ''} is not allowed here.`)
  }
  if (isPage) return new URL(req.url ?? '/', 'http://emulator.invalid').searchParams
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  const body = await readBody(req, maxFormBytes)
  if (body === undefined || mediaType !== 'application/x-www-form-urlencoded') {
    return errorPage(400, 'Bad Request', 'The form could not be read.')
  }
  return new URLSearchParams(body)
}

/** Reads the whole body; undefined when it exceeds maxBytes (the rest is drained, not kept). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= maxBytes) chunks.push(chunk)
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks).toString('utf8')
}
