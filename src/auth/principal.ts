// Who is calling: a name for logs and metrics, which exposed names it may see and call,
// whether it may read /admin, and its own rate limit if it has one.
import picomatch from 'picomatch';

export interface Limit {
  points: number;
  duration: number;
  blockDuration?: number | undefined;
}

export interface Principal {
  readonly id: string;
  /** Undefined: every tool. */
  readonly tools: ToolScope | undefined;
  readonly admin: boolean;
  readonly rateLimit?: Limit | undefined;
  /** Sees the three tool-search tools instead of the whole catalog (undefined: the gateway default). */
  readonly toolSearch?: boolean | undefined;
}

/** A compiled set of globs over exposed names, with a stable key for caching views. */
export interface ToolScope {
  readonly key: string;
  allows(name: string): boolean;
}

export function toolScope(globs: readonly string[]): ToolScope {
  const sorted = [...new Set(globs)].sort();
  const match = picomatch(sorted.length ? sorted : ['\0never'], { dot: true, nobrace: false });
  return { key: sorted.join('\n'), allows: (name) => match(name) };
}

export function allows(principal: Principal, name: string): boolean {
  return principal.tools === undefined || principal.tools.allows(name);
}

/** The caller when auth is off. */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', tools: undefined, admin: true });
