// Prometheus metrics (prom-client) on a registry of the gateway's own: request counts and
// latency (gateway total and backend time apart), rate limiting, Redis fallback, the fleet
// as discovered, catalog size, Consul watch health and open sessions. Fleet gauges are
// read at scrape time, so nothing is computed while nobody asks.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface FleetView {
  backends(): { prefix: string; instances: { healthy: boolean; connected: boolean }[] }[];
  catalogTools(): number;
  sessions(): number;
  consul(): { errors: number; syncAgeSeconds: number } | undefined;
  redisFallback(): boolean | undefined;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'tool' | 'backend' | 'status'>;
  readonly duration: Histogram<'method' | 'status'>;
  readonly backendDuration: Histogram<'backend'>;
  readonly rateLimited: Counter<'rule'>;
  readonly fallbackRequests: Counter;

  constructor(view: FleetView) {
    const registers = [this.registry];
    // The event-loop lag histogram samples every 10 ms by default: 100 wake-ups a second of
    // an otherwise idle gateway. Every 250 ms still catches any stall that matters.
    collectDefaultMetrics({ register: this.registry, prefix: 'mcpgw_process_', eventLoopMonitoringPrecision: 250 });
    this.requests = new Counter({ name: 'mcpgw_requests_total', help: 'JSON-RPC requests by method, tool, backend and status', labelNames: ['method', 'tool', 'backend', 'status'], registers });
    this.duration = new Histogram({ name: 'mcpgw_request_duration_seconds', help: 'Time from request received to answer, at the gateway', labelNames: ['method', 'status'], buckets: BUCKETS, registers });
    this.backendDuration = new Histogram({ name: 'mcpgw_backend_duration_seconds', help: 'Time spent waiting for the backend, per routed call', labelNames: ['backend'], buckets: BUCKETS, registers });
    this.rateLimited = new Counter({ name: 'mcpgw_rate_limited_total', help: 'Requests refused by a rate-limit rule', labelNames: ['rule'], registers });
    this.fallbackRequests = new Counter({ name: 'mcpgw_ratelimit_fallback_requests_total', help: 'Requests limited in-process because Redis was unreachable', registers });
    new Gauge({
      name: 'mcpgw_ratelimit_redis_fallback', help: '1 while rate limits are kept in-process because Redis is unreachable', registers,
      collect() { const f = view.redisFallback(); this.set(f ? 1 : 0); },
    });
    new Gauge({
      name: 'mcpgw_backends', help: 'Backends by whether any instance is connected', labelNames: ['state'], registers,
      collect() {
        const all = view.backends();
        const up = all.filter((b) => b.instances.some((i) => i.connected)).length;
        this.set({ state: 'up' }, up);
        this.set({ state: 'down' }, all.length - up);
      },
    });
    new Gauge({
      name: 'mcpgw_instances', help: 'Backend instances by health (Consul) and connection state', labelNames: ['health', 'connected'], registers,
      collect() {
        this.reset();
        for (const backend of view.backends()) {
          for (const i of backend.instances) this.inc({ health: i.healthy ? 'passing' : 'failing', connected: String(i.connected) });
        }
      },
    });
    new Gauge({ name: 'mcpgw_catalog_tools', help: 'Tools exposed by the catalog', registers, collect() { this.set(view.catalogTools()); } });
    new Gauge({ name: 'mcpgw_sessions_open', help: 'Open client sessions', registers, collect() { this.set(view.sessions()); } });
    new Counter({
      name: 'mcpgw_consul_errors_total', help: 'Failed Consul requests (watches and detail fetches) since start', registers,
      collect() { this.reset(); this.inc(view.consul()?.errors ?? 0); },
    });
    new Gauge({
      name: 'mcpgw_consul_last_sync_age_seconds', help: 'Seconds since the last completed Consul sync', registers,
      collect() { const c = view.consul(); this.set(c ? (Number.isFinite(c.syncAgeSeconds) ? c.syncAgeSeconds : -1) : 0); },
    });
  }
}
