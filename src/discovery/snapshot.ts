// What every discovery source emits: a whole, frozen picture of its backends.
// Sources do one job (emit snapshots); merging, dedupe and routing happen downstream.

export interface InstanceSpec {
  /** Unique within its backend (Consul's ServiceID, or a static id). */
  readonly id: string;
  /** The MCP endpoint, e.g. http://10.0.0.5:8001/mcp. */
  readonly url: string;
  readonly address: string;
  readonly port: number;
  /** Every check passing (Consul), or always true (static). */
  readonly healthy: boolean;
  /** A local stdio server the gateway runs itself (then `url` is `stdio:<command>`). */
  readonly stdio?: { readonly command: string; readonly args: readonly string[]; readonly env?: Readonly<Record<string, string>>; readonly cwd?: string };
}

export interface BackendSpec {
  /** Namespace of its tools: `<prefix><separator><tool>`. */
  readonly prefix: string;
  /** The Consul service name, or the prefix for static backends. */
  readonly service: string;
  /** Name of the source that found it: `consul`, `static`, `env`. */
  readonly source: string;
  readonly instances: readonly InstanceSpec[];
  /** Extra headers sent upstream (backend credentials from config, never the client's). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Snapshot {
  readonly source: string;
  readonly backends: readonly BackendSpec[];
}

/** A discovery source: emits a snapshot when it first syncs and whenever its view changes. */
export interface Source {
  readonly name: string;
  start(emit: (snapshot: Snapshot) => void): Promise<void>;
  close(): Promise<void>;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
