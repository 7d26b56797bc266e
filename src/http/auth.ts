// Central authentication at the edge: API keys and/or JWTs as `Authorization: Bearer`.
// A request gets a principal or a refusal: 401 (with WWW-Authenticate, and resource_metadata
// under JWT) or 403 insufficient_scope. With auth off every caller is the anonymous admin.
// The checks are plain functions: /mcp runs them itself, the Koa views through middleware.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { ApiKeyStore } from '../auth/api-keys.js';
import { JwtVerifier } from '../auth/jwt.js';
import { ANONYMOUS, type Principal } from '../auth/principal.js';

export interface AuthOptions {
  enabled: boolean;
  keys: ApiKeyStore | undefined;
  jwt: JwtVerifier | undefined;
  requiredScope?: string | undefined;
  /** Absolute URL of the RFC 9728 metadata, when JWT auth is on. */
  resourceMetadataUrl: () => string | undefined;
  log: Logger;
}

function challenge(options: AuthOptions, error?: string, description?: string): string {
  const parts = ['realm="mcp-gateway"'];
  const metadata = options.resourceMetadataUrl();
  if (metadata) parts.push(`resource_metadata="${metadata}"`);
  if (options.requiredScope) parts.push(`scope="${options.requiredScope}"`);
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${description.replace(/"/g, "'")}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** Why a request is turned away at the edge: its HTTP status, headers and JSON-RPC error message. */
export interface Refusal {
  status: 401 | 403;
  headers: Record<string, string>;
  message: string;
}

/** The JSON-RPC error body of a refusal (no id: the request was not read). */
export function refusalBody(refusal: Refusal, code = -32001): string {
  return JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message: refusal.message } });
}

const unauthorized = (options: AuthOptions, message: string, error?: string): Refusal => ({
  status: 401,
  headers: { 'WWW-Authenticate': challenge(options, error) },
  message,
});

/** Resolves a bearer token that is no API key: a JWT, or a refusal. */
async function jwtPrincipal(options: AuthOptions, token: string): Promise<Principal | Refusal> {
  if (!options.jwt || !JwtVerifier.looksLikeJwt(token)) return unauthorized(options, 'Unauthorized: invalid token', 'invalid_token');
  const outcome = await options.jwt.verify(token);
  if (outcome.ok) return outcome.principal;
  if (outcome.reason === 'insufficient_scope') {
    return { status: 403, headers: { 'WWW-Authenticate': challenge(options, 'insufficient_scope', outcome.description) }, message: 'Forbidden: insufficient scope' };
  }
  options.log.debug({ reason: outcome.description }, 'jwt refused');
  return unauthorized(options, 'Unauthorized: invalid token', 'invalid_token');
}

export function isRefusal(value: Principal | Refusal): value is Refusal {
  return 'status' in value && 'message' in value;
}

/**
 * The principal behind an Authorization header, or the refusal to answer. With auth off
 * every caller is the anonymous admin; an API key is checked without leaving the tick.
 */
export function authenticator(options: AuthOptions): (authorization: string | undefined) => Principal | Refusal | Promise<Principal | Refusal> {
  return (authorization) => {
    if (!options.enabled) return ANONYMOUS;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return unauthorized(options, 'Unauthorized: a bearer token is required');
    const fromKey = options.keys?.verify(match[1]);
    return fromKey ?? jwtPrincipal(options, match[1]);
  };
}

/** Koa middleware for the views other than /mcp (which checks on its own, outside Koa). */
export function authenticate(options: AuthOptions): (ctx: Context, next: Next) => Promise<void> {
  const check = authenticator(options);
  return async (ctx, next) => {
    const outcome = await check(ctx.get('authorization') || undefined);
    if (isRefusal(outcome)) {
      ctx.status = outcome.status;
      ctx.set(outcome.headers);
      ctx.type = 'application/json';
      ctx.body = refusalBody(outcome);
      return;
    }
    ctx.state.principal = outcome;
    return next();
  };
}

/** /admin/* is for admin principals only (with auth off: everyone on loopback). */
export async function requireAdmin(ctx: Context, next: Next): Promise<void> {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal?.admin) {
    ctx.status = 403;
    ctx.body = { error: 'forbidden', message: 'admin principals only' };
    return;
  }
  await next();
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * DNS-rebinding protection (MCP transport spec): a browser Origin must be loopback or listed;
 * and on a loopback-bound gateway (or with hosts listed) the Host header must be one we answer
 * to, since a rebound name reaches us with the attacker's Host and, without CORS, no Origin.
 * Returns the reason to answer 403, or undefined when the request may pass.
 */
export function originGuard(allowed: readonly string[], hosts: () => ReadonlySet<string> | undefined = () => undefined): (host: string | undefined, origin: string | undefined) => string | undefined {
  const listed = new Set(allowed.map((o) => o.replace(/\/$/, '')));
  return (host, origin) => {
    const allowedHosts = hosts();
    if (allowedHosts) {
      const hostname = hostnameOf(host ?? '');
      if (!LOOPBACK.has(hostname) && !allowedHosts.has(hostname)) return `Forbidden: host ${host ?? ''} is not allowed`;
    }
    if (origin) {
      let name = '';
      try {
        name = new URL(origin).hostname;
      } catch {
        name = '';
      }
      if (!LOOPBACK.has(name) && !listed.has(origin)) return `Forbidden: origin ${origin} is not allowed`;
    }
    return undefined;
  };
}

/** The name in a Host header, without port or IPv6 brackets. */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}
