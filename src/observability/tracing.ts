// OpenTelemetry spans for routed requests, exported over OTLP/HTTP when an endpoint is
// configured. Off by default and then free: the SDK is only loaded when tracing is on, and
// the call path asks `tracer?.` for nothing else. A client's W3C traceparent is the parent
// of the gateway's span, and the backend receives the gateway's span as its parent.
import type { Logger } from 'pino';

export interface RequestSpan {
  /** Headers to send upstream: the span's own trace context. */
  headers(): Record<string, string>;
  end(attributes: Record<string, string | number | undefined>, failed: boolean): void;
}

export interface Tracer {
  start(name: string, incoming: { traceparent?: string; tracestate?: string }, attributes: Record<string, string | number | undefined>): RequestSpan;
  close(): Promise<void>;
}

function clean(attributes: Record<string, string | number | undefined>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}

export async function createTracer(endpoint: string | undefined, log: Logger): Promise<Tracer | undefined> {
  if (!endpoint) return undefined;
  const [api, core, base, exporterModule, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter({ url: endpoint });
  const provider = new base.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'mcp-gateway' }),
    spanProcessors: [new base.BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  const tracer = provider.getTracer('mcp-gateway');
  const propagator = new core.W3CTraceContextPropagator();
  log.info({ endpoint }, 'tracing: exporting spans over OTLP/HTTP');
  return {
    start(name, incoming, attributes) {
      const carrier: Record<string, string> = {};
      if (incoming.traceparent) carrier.traceparent = incoming.traceparent;
      if (incoming.tracestate) carrier.tracestate = incoming.tracestate;
      const parent = propagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes: clean(attributes) }, parent);
      return {
        headers() {
          const out: Record<string, string> = {};
          propagator.inject(api.trace.setSpan(parent, span), out, api.defaultTextMapSetter);
          return out;
        },
        end(more, failed) {
          span.setAttributes(clean(more));
          span.setStatus({ code: failed ? api.SpanStatusCode.ERROR : api.SpanStatusCode.OK });
          span.end();
        },
      };
    },
    close: () => provider.shutdown(),
  };
}
