// The plumbing the SP-API and Ads emulators share: a loopback server that closes promptly,
// bounded body reading, abortable delays and a fault queue (queued faults win over a standing one).
import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Starts a server on 127.0.0.1 with a random port; `url` is its origin. */
export async function listenLoopback(): Promise<{ server: Server; url: string }> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}` }
}

/** Closes without waiting for keep-alive sockets to idle out; `closing` cancels pending delays. */
export async function closeServer(server: Server, closing: AbortController): Promise<void> {
  closing.abort()
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeAllConnections()
  await closed
}

/** Resolves after ms, or rejects as soon as the emulator closes (so no late answers). */
export async function delay(ms: number, closing: AbortController): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal: closing.signal })
}

/** The whole body; undefined when it exceeds maxBytes (the rest is drained, not kept). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= maxBytes) chunks.push(chunk)
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks).toString('utf8')
}

interface QueuedFault<F> { fault: F; operation: string | undefined; remaining: number }

/** failNext(fault, times, operation?) and setFault(fault | null), taken in arrival order. */
export class FaultQueue<F> {
  readonly #queued: Array<QueuedFault<F>> = []
  #standing: F | null = null

  push(fault: F, times: number, operation: string | undefined): void {
    this.#queued.push({ fault, operation, remaining: times })
  }

  set(fault: F | null): void {
    this.#standing = fault
  }

  clear(): void {
    this.#queued.length = 0
    this.#standing = null
  }

  /** The fault for a request to `operation`, used up if it was queued. */
  take(operation: string): F | undefined {
    const index = this.#queued.findIndex((q) => q.operation === undefined || q.operation === operation)
    const queued = this.#queued[index]
    if (queued) {
      if (--queued.remaining <= 0) this.#queued.splice(index, 1)
      return queued.fault
    }
    return this.#standing ?? undefined
  }
}
