// What a browser does with an emulated Amazon page, over plain HTTP: read its form or link,
// press a button, follow the redirect.
import { call, type Answer } from './api-test-client.js'

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

/** The page's form: where it posts, and its hidden fields. */
export function formOf(page: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)">/.exec(page)?.[1]
  if (action === undefined) throw new Error('no form on the page')
  const fields: Record<string, string> = {}
  for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[name!] = unescapeHtml(value!)
  }
  return { action, fields }
}

/** Where the page's link `id` leads. */
export function linkOf(page: string, id: string): URL {
  const href = new RegExp(`<a id="${id}" href="([^"]*)">`).exec(page)?.[1]
  if (href === undefined) throw new Error(`no link #${id} on the page`)
  return new URL(unescapeHtml(href))
}

/** What a browser submits when the button `decision` is pressed: the page's hidden fields plus the button. */
export function decide(site: { url: string }, page: string, decision: 'allow' | 'deny' | undefined): Promise<Answer> {
  const { action, fields } = formOf(page)
  const body = new URLSearchParams(decision === undefined ? fields : { ...fields, decision }).toString()
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  return call(site.url + action, { method: 'POST', headers, body })
}

/** Where a redirect sends the browser. */
export function location(answer: Answer): URL {
  const value = answer.headers.location
  if (typeof value !== 'string') throw new Error(`no Location header (HTTP ${answer.status})`)
  return new URL(value)
}
