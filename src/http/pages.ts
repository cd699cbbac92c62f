import type { FastifyReply } from 'fastify'

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * A plain page for a person: a title, a message, and optionally a button (after one text field)
 * that POSTs the form back to this very URL, query included (so a publicUrl with a path prefix
 * needs nothing). No script, no
 * remote content. (No CSP form-action: browsers apply it to the redirect that follows the
 * post too, and that one goes to Amazon.)
 */
export function page(
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
  options: { button?: string; input?: { name: string; label: string } } = {},
): FastifyReply {
  const { button, input } = options
  const field = input
    ? `<label for="${input.name}">${escapeHtml(input.label)}</label> <input id="${input.name}" name="${input.name}" `
      + 'required autocomplete="off"> '
    : ''
  const form = button
    ? `<form method="post" action="">${field}<button type="submit" id="continue">${escapeHtml(button)}</button></form>`
    : ''
  const html = '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    + `<title>lwa-broker: ${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p>${form}</body></html>`
  return reply.code(status).header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8').send(html)
}
