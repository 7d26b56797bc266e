// The gateway's own entry in Consul (CONTRACT §7): service `mcp-gateway`, tag `mcp-gateway`
// (never the backends' tag), an HTTP check on /healthz. Registered again whenever Consul
// seems to have forgotten it (an agent restart), deregistered at shutdown.
import type { Logger } from 'pino';
import type { ConsulSource } from '../discovery/consul/source.js';

export const GATEWAY_SERVICE = 'mcp-gateway';

export interface GatewayServiceOptions {
  /** Address Consul uses to reach this gateway. */
  address: string;
  port: number;
  checkIntervalSeconds?: number;
}

export class GatewayService {
  readonly id: string;
  private registered = false;
  private pending: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly source: ConsulSource, private readonly options: GatewayServiceOptions, private readonly log: Logger) {
    this.id = `${GATEWAY_SERVICE}-${options.address}-${options.port}`;
    source.on('resync', () => void this.register());
    source.on('services', (names) => {
      if (this.registered && !names.has(GATEWAY_SERVICE)) void this.register();
    });
  }

  register(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.pending ??= this.doRegister().finally(() => { this.pending = undefined; });
    return this.pending;
  }

  private async doRegister(): Promise<void> {
    const { address, port } = this.options;
    const host = address.includes(':') ? `[${address}]` : address;
    try {
      await this.source.client.agent.service.register({
        name: GATEWAY_SERVICE,
        id: this.id,
        tags: [GATEWAY_SERVICE],
        address,
        port,
        meta: { version: '0.1.0' },
        check: {
          name: 'gateway /healthz',
          http: `http://${host}:${port}/healthz`,
          interval: `${this.options.checkIntervalSeconds ?? 5}s`,
          timeout: '2s',
          deregistercriticalserviceafter: '1m',
        },
      } as never);
      if (!this.registered) this.log.info({ serviceId: this.id }, 'registered in consul');
      this.registered = true;
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'registering the gateway in consul failed; will retry when consul answers');
    }
  }

  async deregister(): Promise<void> {
    this.closed = true;
    await this.pending;
    if (!this.registered) return;
    try {
      await this.source.client.agent.service.deregister({ id: this.id, timeout: 2000 } as never);
      this.log.info({ serviceId: this.id }, 'deregistered from consul');
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'deregistering the gateway from consul failed');
    }
    this.registered = false;
  }
}
