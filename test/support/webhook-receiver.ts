// A loopback receiver of the broker's lifecycle webhooks: a real HTTP peer that records every
// request, checks its signature as the README tells receivers to, and can be told to fail.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { LifecycleEvent } from '../../src/lifecycle/events.js'

export interface Delivery {
  eventId: string | undefined
  timestamp: string | undefined
  signature: string | undefined
  body: string
  /** The signature matched HMAC-SHA256(key, "<timestamp>.<body>"). */
  valid: boolean
  /** What the receiver answered. */
  status: number
}

interface Answer { status: number; headers?: Record<string, string>; delayMs?: number }

/** The README's recipe for receivers, kept independent of the broker's own code. */
export function verifySignature(key: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from('v1=' + createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex'))
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export class WebhookReceiver {
  readonly requests: Delivery[] = []
  private readonly answers: Answer[] = []

  private constructor(private readonly server: Server, private readonly key: string, readonly url: string) {}

  static async start(key: string): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined
    const server = createServer((req, res) => void receiver?.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    receiver = new WebhookReceiver(server, key, `http://127.0.0.1:${port}/hooks/lwa-broker`)
    return receiver
  }

  /** The next `times` requests get `status` (and `headers`, e.g. Retry-After); later ones 204 again. */
  failNext(status: number, times = 1, headers?: Record<string, string>): void {
    for (let i = 0; i < times; i++) this.answers.push({ status, ...(headers ? { headers } : {}) })
  }

  /** The next request is answered only after `ms` (a receiver slower than the sender's timeout). */
  stallNext(ms: number): void {
    this.answers.push({ status: 204, delayMs: ms })
  }

  /** Events accepted with a 2xx, parsed. */
  delivered(): LifecycleEvent[] {
    return this.requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body) as LifecycleEvent)
  }

  /** Resolves once `count` events were accepted; rejects after `timeoutMs`. */
  async waitForDelivered(count: number, timeoutMs = 5000): Promise<LifecycleEvent[]> {
    const deadline = Date.now() + timeoutMs
    while (this.delivered().length < count) {
      if (Date.now() > deadline) throw new Error(`${this.delivered().length} of ${count} webhooks delivered`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return this.delivered()
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const header = (name: string): string | undefined => req.headers[name] as string | undefined
    const [timestamp, signature] = [header('lwa-broker-timestamp'), header('lwa-broker-signature')]
    const valid = timestamp !== undefined && signature !== undefined
      && verifySignature(this.key, timestamp, body, signature)
    const answer = this.answers.shift() ?? { status: 204 }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs))
    this.requests.push({ eventId: header('lwa-broker-event-id'), timestamp, signature, body, valid, status: answer.status })
    res.writeHead(answer.status, answer.headers).end()
  }
}
