// A real headless browser for the onboarding tests: Debian's Chromium, driven by playwright-core.
// npm run test:all installs Chromium; without it a file that uses this fails, it never skips.
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

export const chromiumPath = '/usr/bin/chromium'
// The broker gets a host name of its own, so Amazon (the emulator on 127.0.0.1) and the broker
// are different sites, as in production: the browser-binding cookie must survive a cross-site
// redirect back (SameSite=Lax does, Strict would not). Chromium maps the name to loopback itself.
export const brokerHost = 'broker.onboarding.test'

/**
 * Chromium for every test of a file: launched before the first, closed after the last. The
 * getter throws if it did not start; the launch itself throws if Chromium is not installed.
 */
export function useChromium(t: Test): () => Browser {
  let browser: Browser | undefined
  t.before(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`Chromium is not installed at ${chromiumPath}: the browser onboarding tests need Debian's chromium ` +
        '(apt-get install -y chromium; npm run test:all installs it). They fail rather than skip so CI cannot pass without it.')
    }
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        `--host-resolver-rules=MAP ${brokerHost} 127.0.0.1`,
        // Everything here is on loopback; a proxy from the environment must not see the broker's host name.
        '--no-proxy-server',
      ],
    })
  })
  t.teardown(() => browser?.close())
  return () => {
    if (!browser) throw new Error('Chromium did not start')
    return browser
  }
}

/** A fresh browser profile, closed with the test: no cookies from any other test. */
export async function newPage(t: Test, browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return { context, page }
}

/** A port nobody listens on right now: publicUrl has to be in the config before the broker is built. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Shown { status: number; url: string; title: string; text: string; html: string }

export async function shown(page: Page, response: Response | null): Promise<Shown> {
  if (!response) throw new Error(`no response for ${page.url()}`)
  return {
    status: response.status(), url: page.url(), title: await page.title(),
    text: await page.locator('body').innerText(), html: await page.content(),
  }
}

/**
 * Opens the link: a page of the broker's asks to continue (a mail scanner's GET uses nothing
 * up); its button posts, the broker sets its cookie and redirects to the consent page (the
 * emulator). A link that cannot be used shows its failure page instead of a button.
 */
export async function openLink(page: Page, url: string): Promise<Shown> {
  const landing = await shown(page, await page.goto(url))
  if (landing.status !== 200) return landing
  const [response] = await Promise.all([page.waitForNavigation(), page.click('#continue')])
  return shown(page, response)
}

export async function visit(page: Page, url: string): Promise<Shown> {
  return shown(page, await page.goto(url))
}

/** Clicks a consent button and waits for the broker's callback page the emulator redirects to. */
export async function clickThrough(page: Page, button: '#allow' | '#deny', callbackUrl: string): Promise<Shown> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(callbackUrl) && r.request().isNavigationRequest()),
    page.click(button),
  ])
  await page.waitForURL((url) => url.href.startsWith(callbackUrl))
  return shown(page, response)
}

export function assertNoToken(t: Test, page: Shown): void {
  t.notMatch(page.text, /Atz/, 'no token in the page text')
  t.notMatch(page.html, /Atz/, 'no token in the page source')
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
