// Central authentication at the edge: API keys and/or JWTs as `Authorization: Bearer`.
// It sets ctx.state.principal or answers 401 (with WWW-Authenticate, and resource_metadata
// under JWT) or 403 insufficient_scope. With auth off every caller is the anonymous admin.
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

function refuse(ctx: Context, status: 401 | 403, header: string, message: string): void {
  ctx.status = status;
  ctx.set('WWW-Authenticate', header);
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message } });
}

/** Resolves the bearer token to a principal; undefined when it is not valid. */
async function principalFor(options: AuthOptions, token: string, ctx: Context): Promise<Principal | undefined> {
  const fromKey = options.keys?.verify(token);
  if (fromKey) return fromKey;
  if (!options.jwt || !JwtVerifier.looksLikeJwt(token)) return undefined;
  const outcome = await options.jwt.verify(token);
  if (outcome.ok) return outcome.principal;
  if (outcome.reason === 'insufficient_scope') {
    refuse(ctx, 403, challenge(options, 'insufficient_scope', outcome.description), 'Forbidden: insufficient scope');
    ctx.state.authRefused = true;
    return undefined;
  }
  options.log.debug({ reason: outcome.description }, 'jwt refused');
  return undefined;
}

export function authenticate(options: AuthOptions): (ctx: Context, next: Next) => Promise<void> {
  return async (ctx, next) => {
    if (!options.enabled) {
      ctx.state.principal = ANONYMOUS;
      return next();
    }
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return refuse(ctx, 401, challenge(options), 'Unauthorized: a bearer token is required');
    const principal = await principalFor(options, match[1], ctx);
    if (ctx.state.authRefused) return;
    if (!principal) return refuse(ctx, 401, challenge(options, 'invalid_token'), 'Unauthorized: invalid token');
    ctx.state.principal = principal;
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
 */
export function checkOrigin(allowed: readonly string[], hosts: () => ReadonlySet<string> | undefined = () => undefined): (ctx: Context, next: Next) => Promise<void> {
  const listed = new Set(allowed.map((o) => o.replace(/\/$/, '')));
  return async (ctx, next) => {
    const allowedHosts = hosts();
    if (allowedHosts) {
      const hostname = ctx.hostname.replace(/^\[(.*)\]$/, '$1');
      if (!LOOPBACK.has(hostname) && !allowedHosts.has(hostname)) {
        ctx.status = 403;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Forbidden: host ${ctx.host} is not allowed` } });
        return;
      }
    }
    const origin = ctx.get('origin');
    if (origin) {
      let host = '';
      try {
        host = new URL(origin).hostname;
      } catch {
        host = '';
      }
      if (!LOOPBACK.has(host) && !listed.has(origin)) {
        ctx.status = 403;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Forbidden: origin ${origin} is not allowed` } });
        return;
      }
    }
    await next();
  };
}
