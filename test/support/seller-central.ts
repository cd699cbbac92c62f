// Seller-initiated authorization as Seller Central plays it (/work/shared/SPAPI.md): the
// Appstore's "Authorize now" and Manage Your Apps' yearly "Re-authorize" both send the
// browser to the app's Login URI with amazon_callback_uri, amazon_state, selling_partner_id
// (and version=beta for a draft app). The app sends it back to amazon_callback_uri, the
// confirm page here, with redirect_uri, amazon_state, its own state (and version=beta); Allow
// there redirects to redirect_uri with state, selling_partner_id and spapi_oauth_code.
// Served by the LWA emulator, which mints the code (lwa-emulator.ts).
import type { IncomingMessage } from 'node:http'
import { randomBytes } from 'node:crypto'
import {
  consentCommon, decisionPage, denied, errorPage, escapeHtml, htmlPage, pageFields, type Reply,
} from './amazon-pages.js'

const startPath = '/apps/authorize/appstore'
const confirmPath = '/apps/authorize/confirm'

/** Where a seller starts: the Appstore's "Authorize now", or "Re-authorize" on Manage Your Apps. */
export interface AppstoreStart {
  /** The SP-API application (addApplication) the seller authorizes. */
  applicationId: string
  /** The app's OAuth Login URI, where Seller Central sends the browser first. */
  loginUri: string
  sellingPartnerId: string
  /** A draft app: Seller Central adds version=beta, and expects it back. */
  draft?: boolean
  flavour: 'appstore' | 'reauthorize'
}

/** One started authorization: the amazon_state Seller Central issued for it. */
export interface AppstoreAuthorization extends AppstoreStart {
  amazonState: string
  /** The application's LWA client, which the code is minted for. */
  clientId: string
  /** Allowed or cancelled: its amazon_state is used up. */
  decided: boolean
}

/** The confirm page's request, once it has been checked. */
export interface ConfirmRequest {
  authorization: AppstoreAuthorization
  redirectUri: string
  state: string
}

export interface SellerCentralDeps {
  /** The LWA client an application's codes are exchanged by; undefined for an unknown one. */
  clientOf(applicationId: string): string | undefined
  /** Mints the code (as the website flow's Allow does) and redirects with it. */
  allow(request: ConfirmRequest): Reply
}

export class SellerCentral {
  /** Every authorization started, in order. */
  readonly authorizations: AppstoreAuthorization[] = []
  /** The query of every request that reached the confirm page (GET), as the app sent it. */
  readonly confirmations: Array<Record<string, string>> = []

  constructor(private readonly url: string, private readonly deps: SellerCentralDeps) {}

  /** The Seller Central page a browser opens to start; its button leads to the app's Login URI. */
  start(start: AppstoreStart): string {
    const clientId = this.deps.clientOf(start.applicationId)
    if (clientId === undefined) {
      throw new TypeError(`SellerCentral: unknown application ${start.applicationId}; call addApplication first`)
    }
    const amazonState = randomBytes(18).toString('base64url')
    this.authorizations.push({ ...start, amazonState, clientId, decided: false })
    return `${this.url}${startPath}?` + new URLSearchParams({ amazon_state: amazonState }).toString()
  }

  handles(path: string | undefined): path is string {
    return path === startPath || path === confirmPath
  }

  async handle(req: IncomingMessage, path: string): Promise<Reply> {
    // The confirm page's form comes back to it by POST; the start page is only ever shown.
    const isPage = path === startPath || req.method !== 'POST'
    const fields = await pageFields(req, isPage)
    if (!(fields instanceof URLSearchParams)) return fields
    if (path === startPath) return this.startPage(fields)
    if (isPage) this.confirmations.push(Object.fromEntries(fields))
    const request = this.confirmRequest(fields)
    if ('status' in request) return request
    if (isPage) return confirmPage(request, fields)
    const decision = fields.get('decision')
    if (decision !== 'allow' && decision !== 'deny') return errorPage(400, 'Bad Request', 'No decision was made.')
    request.authorization.decided = true
    return decision === 'allow' ? this.deps.allow(request) : denied(request.redirectUri, request.state)
  }

  private startPage(fields: URLSearchParams): Reply {
    const authorization = this.open(fields.get('amazon_state'))
    if (!authorization) return errorPage(400, 'Bad Request', 'This authorization was not started here.')
    const { loginUri, amazonState, sellingPartnerId, draft, flavour, applicationId } = authorization
    const target = new URL(loginUri)
    target.searchParams.set('amazon_callback_uri', this.url + confirmPath)
    target.searchParams.set('amazon_state', amazonState)
    target.searchParams.set('selling_partner_id', sellingPartnerId)
    if (draft) target.searchParams.set('version', 'beta')
    const [title, label] = flavour === 'appstore'
      ? ['Selling Partner Appstore', 'Authorize now']
      : ['Manage Your Apps', 'Re-authorize']
    return htmlPage(title, [
      `<h1>Seller Central (emulator): ${title}</h1>`,
      `<p>Application <strong id="application">${escapeHtml(applicationId)}</strong>` +
        ` for the selling account <strong id="seller">${escapeHtml(sellingPartnerId)}</strong>.</p>`,
      `<a id="authorize" href="${escapeHtml(target.toString())}">${label}</a>`,
    ])
  }

  /** What Amazon checks before it asks the seller to confirm (and again on the decision). */
  private confirmRequest(fields: URLSearchParams): ConfirmRequest | Reply {
    if (new Set(fields.keys()).size !== [...fields.keys()].length) {
      return errorPage(400, 'Bad Request', 'A parameter was given more than once.')
    }
    const authorization = this.open(fields.get('amazon_state'))
    if (!authorization) return errorPage(400, 'Bad Request', 'The request has an invalid parameter : amazon_state.')
    const common = consentCommon(fields)
    if ('status' in common) return common
    if (fields.get('version') !== (authorization.draft ? 'beta' : null)) {
      const expected = authorization.draft ? 'version=beta, for a draft application' : 'no version'
      return errorPage(400, 'Bad Request', `The request has an invalid parameter : version (expected ${expected}).`)
    }
    return { authorization, ...common }
  }

  private open(amazonState: string | null): AppstoreAuthorization | undefined {
    return this.authorizations.find((a) => a.amazonState === amazonState && !a.decided)
  }
}

function confirmPage(request: ConfirmRequest, fields: URLSearchParams): Reply {
  const { applicationId, sellingPartnerId, draft } = request.authorization
  const asking = `<p>Confirm that the application <strong id="application">${escapeHtml(applicationId)}</strong>` +
    `${draft ? ' (draft)' : ''} may access the selling account ` +
    `<strong id="seller">${escapeHtml(sellingPartnerId)}</strong>.</p>`
  const hidden = (['amazon_state', 'redirect_uri', 'state', 'version'] as const)
    .flatMap((name): Array<[string, string]> => {
      const value = fields.get(name)
      return value === null ? [] : [[name, value]]
    })
  return decisionPage(confirmPath, asking, hidden)
}
