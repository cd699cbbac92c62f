import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An OTLP attribute value as OTLP/JSON spells it. */
type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: AnyValue[] } }
interface KeyValue { key: string; value: AnyValue }

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  kind: number
  attributes: Record<string, unknown>
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number
  scope: string
  resource: Record<string, unknown>
}

interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] }
    scopeSpans?: Array<{
      scope?: { name?: string }
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: KeyValue[]; status?: { code?: number } }>
    }>
  }>
}

const valueOf = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values.map(valueOf)

const attributesOf = (list: KeyValue[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]))

/**
 * An OpenTelemetry collector's OTLP/HTTP trace receiver on loopback, as the broker's exporter
 * meets it in production: POST /v1/traces, OTLP/JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).
 * Keeps every body as received, so a test can scan them for secrets, and the spans parsed.
 */
export class OtlpReceiver {
  /** Every export request's body, as sent. */
  readonly bodies: string[] = []
  private readonly received: ReceivedSpan[] = []

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer()
    const receiver = new OtlpReceiver(server)
    server.on('request', (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end()
          return
        }
        if (!String(req.headers['content-type']).startsWith('application/json')) {
          res.writeHead(415, { 'content-type': 'application/json' }).end('{"message":"only OTLP/JSON here"}')
          return
        }
        const body = Buffer.concat(chunks).toString('utf8')
        receiver.bodies.push(body)
        receiver.add(JSON.parse(body) as ExportRequest)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return receiver
  }

  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it (the exporter appends /v1/traces). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  spans(): ReceivedSpan[] {
    return [...this.received]
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  private add(request: ExportRequest): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes)
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.received.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributesOf(s.attributes),
            statusCode: s.status?.code ?? 0,
            scope: ss.scope?.name ?? '',
            resource,
          })
        }
      }
    }
  }
}
