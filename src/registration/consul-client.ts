// The Consul HTTP client a registration talks through, built from Consul's own conventions:
// CONSUL_HTTP_ADDR (with or without a scheme) and CONSUL_HTTP_TOKEN.
import Consul from 'consul';

export const DEFAULT_CONSUL_ADDR = 'http://127.0.0.1:8500';
const REQUEST_TIMEOUT_MS = 5000;

/** The agent's base URL from the option, else CONSUL_HTTP_ADDR, else the local default. */
export function resolveConsulAddr(addr?: string): string {
  const raw = addr ?? process.env.CONSUL_HTTP_ADDR ?? DEFAULT_CONSUL_ADDR;
  // Consul's CLI accepts "127.0.0.1:8500"; so do we.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Consul address ${raw}: only http and https are supported`);
  }
  return `${url.protocol}//${url.host}`;
}

export function createConsulClient(addr?: string, token?: string): { client: Consul; addr: string } {
  const base = resolveConsulAddr(addr);
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  const effectiveToken = token ?? process.env.CONSUL_HTTP_TOKEN;
  // `timeout` is read by the client's HTTP layer (papi) but missing from its typings.
  const options: NonNullable<ConstructorParameters<typeof Consul>[0]> & { timeout: number } = {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    secure,
    timeout: REQUEST_TIMEOUT_MS,
    ...(effectiveToken ? { defaults: { token: effectiveToken } } : {}),
  };
  return { client: new Consul(options), addr: base };
}
