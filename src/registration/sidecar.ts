// `mcp-gateway register`: registers a backend that cannot call the library helper (Python,
// Go, ...) with a TTL check, reports a TCP probe of it every TTL/3, and deregisters on exit.
import { connect } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { registerWithConsul, RegistrationOptionsError, type ProbeResult, type Registration } from './register.js';
import { parseDuration, type Duration } from './duration.js';

export interface SidecarOptions {
  name: string;
  prefix?: string;
  /** The backend's MCP endpoint, e.g. http://127.0.0.1:8001/mcp */
  url: string;
  /** Default: CONSUL_HTTP_ADDR, else http://127.0.0.1:8500. */
  consulAddr?: string;
  /** Default: CONSUL_HTTP_TOKEN. */
  token?: string;
  /** Milliseconds (a number) or a duration string such as "10s"; default 10 s; at least 500 ms. */
  ttl?: Duration;
  id?: string;
  tags?: string[];
  /** Ends the sidecar like SIGINT/SIGTERM do (for embedding and tests). */
  signal?: AbortSignal;
  logger?: Logger;
}

const MAX_RETRY_MS = 10_000;

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true, note: `${host}:${port} accepts connections` }));
    socket.once('timeout', () => done({ ok: false, note: `${host}:${port}: no connection within ${timeoutMs} ms` }));
    socket.once('error', (error) => done({ ok: false, note: `${host}:${port}: ${error.message}` }));
  });
}

/** Runs until SIGINT/SIGTERM (or `signal`), then deregisters and resolves. */
export async function runRegisterSidecar(opts: SidecarOptions): Promise<void> {
  const log = opts.logger ?? pino({ name: 'mcp-gateway-register', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  const ttlMs = parseDuration(opts.ttl ?? 10_000);
  if (ttlMs === undefined) throw new RegistrationOptionsError(`ttl "${String(opts.ttl)}" is not a positive duration`);
  const target = new URL(opts.url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = target.port ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
  const probeTimeout = Math.min(ttlMs / 3, 2000);

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping');
    stop.abort();
  };
  const onAbort = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();

  try {
    let registration: Registration | undefined;
    // Consul may come up after the backend (compose, systemd): keep trying until told to stop.
    for (let retry = 500; !registration && !stop.signal.aborted; retry = Math.min(retry * 2, MAX_RETRY_MS)) {
      try {
        registration = await registerWithConsul({
          name: opts.name,
          prefix: opts.prefix,
          url: opts.url,
          id: opts.id,
          tags: opts.tags,
          consulAddr: opts.consulAddr,
          token: opts.token,
          check: 'ttl',
          ttl: ttlMs,
          probe: () => tcpProbe(host, port, probeTimeout),
          deregisterOnSignal: false,
          logger: log,
        });
      } catch (error) {
        if (error instanceof RegistrationOptionsError) throw error;
        log.warn({ err: (error as Error).message, retryInMs: retry }, 'registration failed; retrying');
        await sleep(retry, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
    if (!registration) return;
    log.info({ serviceId: registration.serviceId, ttlMs }, 'keeping the TTL check alive until SIGINT/SIGTERM');
    if (!stop.signal.aborted) await once(stop.signal, 'abort');
    try {
      await registration.deregister();
    } catch (error) {
      log.error({ err: (error as Error).message }, 'deregistration failed; Consul removes the service once its check has been critical for 1m');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
