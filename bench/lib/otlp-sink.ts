import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Where a traced benchmark broker exports its spans: an OTLP/HTTP endpoint on loopback that
 * accepts every export (OTLP/protobuf, the SDK's default) and keeps only the byte count.
 */
export async function startOtlpSink(): Promise<{ url: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
