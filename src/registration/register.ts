// Registers an MCP backend in Consul the way the gateway discovers it (CONTRACT §1): tag `mcp`,
// Meta.mcp_prefix/mcp_path/mcp_scheme, a health check, re-registration when the agent forgot
// the service (a restarted agent), and deregistration on shutdown.
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { createConsulClient } from './consul-client.js';
import { DurationSchema, consulDuration } from './duration.js';

import { PREFIX_PATTERN as MCP_PREFIX_PATTERN, PrefixSchema as McpPrefixSchema } from '../config/prefix.js';

export { MCP_PREFIX_PATTERN, McpPrefixSchema };

export type CheckMode = 'http' | 'tcp' | 'ttl';

/** What a TTL-mode probe found; `note` becomes the check's output in Consul. */
export interface ProbeResult {
  ok: boolean;
  note?: string;
}
export type Probe = () => Promise<ProbeResult> | ProbeResult;

const MIN_TTL_MS = 500;

const RegisterSettingsSchema = z.object({
  /** Consul service name; replicas of one backend share it. */
  name: z.string().min(1),
  /** The MCP endpoint, e.g. http://127.0.0.1:8001/mcp: gives Address, Port, mcp_path, mcp_scheme. */
  url: z.url({ protocol: /^https?$/ }),
  /** Namespace of the backend's tools; default: the service name. */
  prefix: McpPrefixSchema.optional(),
  /** Default: NAME-HOST-PORT. */
  id: z.string().min(1).optional(),
  /** The opt-in tag the gateway watches for. */
  tag: z.string().min(1).default('mcp'),
  tags: z.array(z.string().min(1)).default([]),
  meta: z.record(z.string(), z.string()).default({}),
  /** Default: CONSUL_HTTP_ADDR, else http://127.0.0.1:8500. */
  consulAddr: z.string().min(1).optional(),
  /** Default: CONSUL_HTTP_TOKEN. */
  token: z.string().optional(),
  /** Default: `http` when checkUrl is given, else `tcp` (MCP endpoints answer a plain GET with 400/405). */
  check: z.enum(['http', 'tcp', 'ttl']).optional(),
  /** A health URL the backend serves (GET answers 2xx), for the HTTP check. */
  checkUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** HTTP/TCP check interval. */
  interval: DurationSchema.default(2000),
  /** HTTP/TCP check timeout; default: the interval, at most 5 s. */
  timeout: DurationSchema.optional(),
  /** TTL-mode deadline; the helper reports every ttl/3. A tiny TTL is a unit mix-up (10 meant as seconds). */
  ttl: DurationSchema.refine((ms) => ms >= MIN_TTL_MS, `must be at least ${MIN_TTL_MS} ms; numbers are milliseconds (10000 or "10s")`).default(10_000),
  deregisterCriticalServiceAfter: DurationSchema.default(60_000),
  /** HTTP/TCP mode: how often to confirm the agent still has the service (re-registering if not). */
  resyncInterval: DurationSchema.default(10_000),
  /** Deregister, then exit(0), on SIGINT/SIGTERM. */
  deregisterOnSignal: z.boolean().default(true),
});

export type RegisterOptions = z.input<typeof RegisterSettingsSchema> & {
  /** TTL mode: decides pass or fail at each report; default: always passing (the process is alive). */
  probe?: Probe;
  logger?: Logger;
};
export type RegisterSettings = z.output<typeof RegisterSettingsSchema>;

export interface Registration {
  serviceId: string;
  checkId: string;
  /** The Consul agent it registered with. */
  consulAddr: string;
  /** Stops the heartbeat and removes the service; safe to call more than once. */
  deregister(): Promise<void>;
}

/** Options that can never register: not worth a retry. */
export class RegistrationOptionsError extends Error {
  override name = 'RegistrationOptionsError';
}

/** A service for PUT /v1/agent/service/register, in the consul client's lower-case key style. */
export interface ServiceDefinition {
  name: string;
  id: string;
  tags: string[];
  address: string;
  port: number;
  meta: Record<string, string>;
  check: {
    checkid: string;
    name: string;
    notes: string;
    timeout: string;
    deregistercriticalserviceafter: string;
    ttl?: string;
    http?: string;
    tcp?: string;
    interval?: string;
  };
}

/** The service definition that registerWithConsul sends for these options; throws RegistrationOptionsError. */
export function serviceDefinition(opts: RegisterOptions): ReturnType<typeof definitionFor> {
  return definitionFor(parseSettings(opts));
}

function definitionFor(settings: RegisterSettings): { id: string; checkId: string; mode: CheckMode; service: ServiceDefinition } {
  const url = new URL(settings.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const prefix = settings.prefix ?? settings.name;
  const prefixCheck = McpPrefixSchema.safeParse(prefix);
  if (!prefixCheck.success) {
    throw new RegistrationOptionsError(
      `prefix "${prefix}"${settings.prefix === undefined ? ' (the service name)' : ''} must match ${MCP_PREFIX_PATTERN.source}; pass a valid prefix`,
    );
  }
  const mode: CheckMode = settings.check ?? (settings.checkUrl ? 'http' : 'tcp');
  if (mode === 'http' && !settings.checkUrl) {
    throw new RegistrationOptionsError('check "http" needs checkUrl: an MCP endpoint answers a plain GET with 400/405');
  }
  const id = settings.id ?? `${settings.name}-${host}-${port}`;
  const checkId = `service:${id}`;
  const interval = consulDuration(settings.interval);
  const common = {
    checkid: checkId,
    name: `MCP backend ${settings.name} (${mode})`,
    notes: settings.url,
    timeout: consulDuration(settings.timeout ?? Math.min(settings.interval, 5000)),
    deregistercriticalserviceafter: consulDuration(settings.deregisterCriticalServiceAfter),
  };
  const check =
    mode === 'ttl'
      ? { ...common, ttl: consulDuration(settings.ttl) }
      : mode === 'http'
        ? { ...common, http: settings.checkUrl, interval }
        : { ...common, tcp: `${url.hostname}:${port}`, interval };
  return {
    id,
    checkId,
    mode,
    service: {
      name: settings.name,
      id,
      tags: [...new Set([settings.tag, ...settings.tags])],
      address: host,
      port,
      meta: { ...settings.meta, mcp_prefix: prefix, mcp_path: url.pathname, mcp_scheme: url.protocol.slice(0, -1) },
      check,
    },
  };
}

function parseSettings(opts: RegisterOptions): RegisterSettings {
  const { probe: _probe, logger: _logger, ...data } = opts;
  const parsed = RegisterSettingsSchema.safeParse(data);
  if (!parsed.success) throw new RegistrationOptionsError(`invalid registration options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// GET /v1/agent/services: service id -> definition; only the keys are read.
const AgentServicesSchema = z.record(z.string(), z.object({ ID: z.string() }).loose());

// One SIGINT/SIGTERM handler for every registration of the process, so each is deregistered
// before the single exit.
const onSignal = new Set<() => Promise<void>>();
function signalHandler(): void {
  void Promise.allSettled([...onSignal].map((deregister) => deregister())).then(() => process.exit(0));
}
function watchSignals(deregister: () => Promise<void>): void {
  if (onSignal.size === 0) {
    process.once('SIGINT', signalHandler);
    process.once('SIGTERM', signalHandler);
  }
  onSignal.add(deregister);
}
function unwatchSignals(deregister: () => Promise<void>): void {
  if (!onSignal.delete(deregister) || onSignal.size > 0) return;
  process.off('SIGINT', signalHandler);
  process.off('SIGTERM', signalHandler);
}

// Consul 1.8 answers a report for a check it does not know with 500 "does not have associated
// TTL"; later versions with 404 "Unknown check ID".
function isUnknownCheck(error: unknown): boolean {
  const status = (error as { statusCode?: unknown }).statusCode;
  return status === 404 || /does not have associated TTL|unknown check/i.test((error as Error).message);
}

/**
 * Registers the backend at `url` in Consul and keeps it registered until `deregister()`.
 * TTL mode reports the probe's verdict every ttl/3 (the first report before this resolves);
 * HTTP/TCP modes leave the checking to Consul.
 */
export async function registerWithConsul(opts: RegisterOptions): Promise<Registration> {
  const settings = parseSettings(opts);
  const { id, checkId, mode, service } = definitionFor(settings);
  const log = (opts.logger ?? pino({ name: 'mcp-registration', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2))).child({
    service: settings.name,
    serviceId: id,
  });
  const probe: Probe = opts.probe ?? (() => ({ ok: true }));
  const { client: consul, addr } = createConsulClient(settings.consulAddr, settings.token);

  const register = async (): Promise<void> => {
    await consul.agent.service.register(service);
  };

  let lastOk: boolean | undefined;
  const report = async (): Promise<void> => {
    let result: ProbeResult;
    try {
      result = await probe();
    } catch (error) {
      result = { ok: false, note: `probe failed: ${(error as Error).message}` };
    }
    const send = (): Promise<unknown> =>
      result.ok ? consul.agent.check.pass({ id: checkId, note: result.note }) : consul.agent.check.fail({ id: checkId, note: result.note });
    try {
      await send();
    } catch (error) {
      if (!isUnknownCheck(error)) throw error;
      log.warn({ consul: addr }, 'consul forgot the service (agent restarted?); registering again');
      await register();
      await send();
    }
    if (result.ok !== lastOk) {
      if (result.ok) log.info({ note: result.note }, 'check passing');
      else log.warn({ note: result.note }, 'check failing');
      lastOk = result.ok;
    }
  };

  const resync = async (): Promise<void> => {
    const services = AgentServicesSchema.parse(await consul.agent.service.list());
    if (services[id]) return;
    log.warn({ consul: addr }, 'consul forgot the service (agent restarted?); registering again');
    await register();
  };

  try {
    await register();
    if (mode === 'ttl') await report();
  } catch (error) {
    consul.destroy();
    throw new Error(`registerWithConsul: Consul at ${addr} did not take service ${id}: ${(error as Error).message}`, { cause: error });
  }
  log.info({ consul: addr, mode, prefix: service.meta.mcp_prefix, url: settings.url }, 'registered in consul');

  const period = mode === 'ttl' ? settings.ttl / 3 : settings.resyncInterval;
  const tick = mode === 'ttl' ? report : resync;
  let stopped = false;
  let outage = false;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      inflight = tick()
        .then(() => {
          if (outage) log.info({ consul: addr }, 'consul answers again');
          outage = false;
        })
        .catch((error: unknown) => {
          // Once per outage: the loop retries every period anyway.
          if (!outage) log.warn({ consul: addr, err: (error as Error).message }, 'consul did not answer; retrying');
          outage = true;
        })
        .finally(() => {
          inflight = undefined;
          schedule();
        });
    }, period);
  };
  schedule();

  let deregistering: Promise<void> | undefined;
  const deregister = (): Promise<void> => {
    deregistering ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      unwatchSignals(deregister);
      await inflight;
      try {
        await consul.agent.service.deregister({ id });
        log.info('deregistered from consul');
      } finally {
        consul.destroy();
      }
    })();
    return deregistering;
  };
  if (settings.deregisterOnSignal) watchSignals(deregister);

  return { serviceId: id, checkId, consulAddr: addr, deregister };
}

/** Removes a service by id from the agent at `consulAddr` (default CONSUL_HTTP_ADDR). */
export async function deregisterFromConsul(serviceId: string, opts: { consulAddr?: string; token?: string } = {}): Promise<void> {
  const { client } = createConsulClient(opts.consulAddr, opts.token);
  try {
    await client.agent.service.deregister({ id: serviceId });
  } finally {
    client.destroy();
  }
}
