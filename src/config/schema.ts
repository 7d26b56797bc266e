// The gateway's configuration: one zod schema is both the validator and the type.
// Every default the product promises lives here, so the README's table and the code agree.
import { z } from 'zod';
import { CompositeConfigSchema } from '../composite/schema.js';

import { PrefixSchema } from './prefix.js';

export { PREFIX_PATTERN } from './prefix.js';

const prefix = PrefixSchema;

const limit = z.object({
  points: z.number().int().positive(),
  duration: z.number().positive(),
  blockDuration: z.number().nonnegative().optional(),
}).strict();

export const StaticBackendSchema = z.object({
  prefix,
  /** The backend's MCP endpoint (Streamable HTTP, or legacy HTTP+SSE). */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Or a local stdio server that the gateway starts and restarts: the command to run. */
  command: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  /** Extra HTTP headers sent upstream (the backend's own credentials; never the client's). */
  headers: z.record(z.string(), z.string()).optional(),
}).strict().refine((b) => (b.url === undefined) !== (b.command === undefined), { message: 'a static backend needs exactly one of url or command' });

export const ConfigSchema = z.object({
  server: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    /** Largest accepted request body, in bytes. */
    maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
    /** Seconds SIGTERM waits for calls in flight before closing sessions. */
    drainSeconds: z.number().nonnegative().default(10),
    /** Browser origins allowed to call /mcp besides loopback ones (DNS-rebinding protection). */
    allowedOrigins: z.array(z.string()).default([]),
    /** Host names /mcp answers to; default: loopback names only when bound to loopback, else any. */
    allowedHosts: z.array(z.string()).optional(),
    /** The URL clients use to reach this gateway (for OAuth metadata); default: the bound address. */
    publicUrl: z.url().optional(),
    /** Items per page of tools/list, prompts/list, resources/list. */
    pageSize: z.number().int().min(1).max(100_000).default(1000),
    /** Client sessions with no request and no open stream for this long are closed; 0: never. */
    sessionIdleSeconds: z.number().nonnegative().default(1800),
  }).strict().prefault({}),
  discovery: z.object({
    consul: z.object({
      address: z.string().min(1),
      token: z.string().default(''),
      tag: z.string().min(1).default('mcp'),
      datacenter: z.string().optional(),
      /** Longest blocking-query wait, seconds (Consul caps it at 600). */
      waitSeconds: z.number().int().min(1).max(600).default(60),
      /** Minimum time between two polls of one watch, ms: the loop's rate limit under churn. */
      minPollIntervalMs: z.number().int().nonnegative().default(50),
      /** Concurrent per-service detail fetches. */
      concurrency: z.number().int().min(1).max(32).default(4),
      /** Register this gateway as service `mcp-gateway` (CONTRACT §7). */
      register: z.boolean().default(true),
      /** Address Consul's HTTP check should call (default: the bound host and port). */
      advertiseAddress: z.string().optional(),
    }).strict().optional(),
    static: z.array(StaticBackendSchema).default([]),
  }).strict().prefault({}),
  naming: z.object({
    separator: z.string().min(1).max(8).default('__'),
    maxLength: z.number().int().min(16).max(128).default(64),
    prefix: z.enum(['always', 'never']).default('always'),
  }).strict().prefault({}),
  upstream: z.object({
    /** Per-call timeout, seconds. */
    timeoutSeconds: z.number().positive().default(60),
    /** Cap of the reconnect backoff, seconds. */
    maxBackoffSeconds: z.number().positive().default(30),
    /** Headers per backend prefix (the backend's own credentials; never the client's token). */
    headers: z.record(z.string(), z.record(z.string(), z.string())).default({}),
    /** Also read headers per prefix from Consul KV at `<kvPrefix>/<prefix>/headers` (a JSON object). */
    kvPrefix: z.string().optional(),
  }).strict().prefault({}),
  /** Composite tools (server chaining): exposed as <composite.prefix>__<name>. */
  composite: CompositeConfigSchema.optional(),
  /** Large catalogs: sessions see search/describe/call gateway tools instead of every tool. */
  toolSearch: z.object({
    enabled: z.boolean().default(false),
    /** Results of search_tools when the caller gives no limit. */
    limit: z.number().int().min(1).max(50).default(10),
  }).strict().prefault({}),
  /** Per-backend curation and timeouts, keyed by prefix. */
  backends: z.record(z.string(), z.object({
    /** Globs over the backend's own tool names: these are not exposed. */
    hide: z.array(z.string()).default([]),
    /** Backend tool name -> name to expose (before the prefix). */
    rename: z.record(z.string(), z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/)).default({}),
    /** Backend tool name -> description shown instead. */
    descriptions: z.record(z.string(), z.string()).default({}),
    /** Call timeout for this backend, seconds (progress notifications restart it). */
    timeoutSeconds: z.number().positive().optional(),
  }).strict()).default({}),
  auth: z.object({
    /** `none` serves without credentials (needed explicitly to bind beyond loopback). */
    mode: z.enum(['none', 'required']).default('required'),
    apiKeys: z.array(z.object({
      id: z.string().min(1),
      /** `sha256:<64 hex>` or the plain key. */
      key: z.string().refine((k) => (k.startsWith('sha256:') ? /^sha256:[0-9a-f]{64}$/.test(k) : k.length >= 16),
        'a key is sha256:<64 lowercase hex digits> or a plain key of at least 16 characters'),
      tools: z.array(z.string()).optional(),
      admin: z.boolean().default(false),
      rateLimit: limit.optional(),
      /** Tool-search mode for this key (default: toolSearch.enabled). */
      toolSearch: z.boolean().optional(),
    }).strict()).default([]),
    jwt: z.object({
      jwksUrl: z.url(),
      issuer: z.string(),
      audience: z.string(),
      /** Claim holding the principal's tool globs (an array, or a space-separated string). */
      toolsClaim: z.string().default('mcp_tools'),
      /** Claim naming the principal in logs and metrics. */
      principalClaim: z.string().default('sub'),
      /** OAuth scopes mapped to tool globs, used when the token has no tools claim. */
      scopes: z.record(z.string(), z.array(z.string())).default({}),
      /** A scope every token must carry (403 insufficient_scope without it). */
      requiredScope: z.string().optional(),
      /** The scope that makes a principal an admin (reads /admin/*). */
      adminScope: z.string().default('mcp:admin'),
      /** A numeric claim granting the principal that many calls per minute. */
      rateLimitClaim: z.string().optional(),
      algorithms: z.array(z.string()).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    }).strict().optional(),
  }).strict().refine((auth) => auth.mode === 'none' || auth.apiKeys.length > 0 || auth.jwt !== undefined, {
    message: 'auth.mode "required" needs apiKeys or jwt (or say mode: none)',
  }).optional(),
  rateLimit: z.object({
    redis: z.string().optional(),
    /** Redis calls slower than this fall back to the in-process limiter, ms. */
    redisTimeoutMs: z.number().int().positive().default(200),
    keyPrefix: z.string().default('mcpgw'),
    default: limit.optional(),
    /** Per backend prefix, shared by every principal. */
    backends: z.record(z.string(), limit).default({}),
    /** Per tool glob over exposed names, shared by every principal. */
    tools: z.array(limit.extend({ match: z.string().min(1) })).default([]),
    /** Listing and other requests, per principal (cheap, but bounded). */
    other: limit.optional(),
  }).strict().optional(),
  tracing: z.object({
    /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; absent: no spans. */
    otlpEndpoint: z.url().optional(),
  }).strict().prefault({}),
  logging: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    arguments: z.enum(['none', 'keys', 'full']).default('none'),
  }).strict().prefault({}),
}).strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type StaticBackend = z.input<typeof StaticBackendSchema>;
