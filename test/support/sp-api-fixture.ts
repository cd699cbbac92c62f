// One SP-API emulator wired to a real LWA emulator on a shared fake clock, for the emulator's own tests.
import type { Test } from 'tap'
import { FakeClock } from './fake-clock.js'
import { LwaEmulator } from './lwa-emulator.js'
import { SpApiEmulator, rotationScope } from './sp-api-emulator.js'
import { call, grantless, refreshGrant } from './api-test-client.js'
import type { Answer } from './api-test-client.js'

export const clientId = 'amzn1.application-oa2-client.sp-app'
export const clientSecret = 'amzn1.oa2-cs.v1.original'
export const applicationId = 'amzn1.sp.solution.sp-app'
export const refreshToken = 'Atzr|seller-one'
export const sellingPartnerId = 'A1SELLERONE'
/** SPAPI.md's sample event time, so the expected notification times are its sample's. */
export const startMs = Date.UTC(2026, 8, 19, 10, 0, 0)

export interface SpFixture {
  clock: FakeClock
  lwa: LwaEmulator
  sp: SpApiEmulator
  /** What `notify` received, in order. */
  delivered: string[]
  sellerToken: (over?: { refreshToken?: string; clientId?: string; clientSecret?: string }) => Promise<string>
  rotationToken: (over?: { clientId?: string; clientSecret?: string; scope?: string }) => Promise<string>
  /** An SP-API call with `x-amz-access-token`. */
  spCall: (method: string, path: string, token: string | undefined, body?: unknown) => Promise<Answer>
}

export async function startSpApi(t: Test, notify?: (body: string) => Promise<void> | void): Promise<SpFixture> {
  const clock = new FakeClock(startMs)
  const lwa = await LwaEmulator.start({ clock })
  const delivered: string[] = []
  const sp = await SpApiEmulator.start({ lwa, clock, notify: notify ?? ((body) => { delivered.push(body) }) })
  t.teardown(async () => {
    await sp.close()
    await lwa.close()
  })
  lwa.addClient({ clientId, clientSecret })
  lwa.addRefreshToken({ refreshToken, clientId })
  sp.addApplication({ applicationId, clientId })
  sp.setSellingPartner(refreshToken, sellingPartnerId)
  return {
    clock, lwa, sp, delivered,
    sellerToken: (over = {}) => refreshGrant(lwa, { clientId, clientSecret, refreshToken, ...over }),
    rotationToken: (over = {}) => grantless(lwa, { clientId, clientSecret, scope: rotationScope, ...over }),
    spCall: (method, path, token, body) => call(sp.url + path, {
      method,
      headers: { ...(token !== undefined ? { 'x-amz-access-token': token } : {}), 'content-type': 'application/json' },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    }),
  }
}
