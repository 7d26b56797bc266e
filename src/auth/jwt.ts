// Bearer JWTs from an OAuth 2.1 authorization server, verified with `jose` against its JWKS
// (fetched, cached and re-fetched on unknown key ids by jose). Issuer, audience (this
// gateway: tokens meant for others are refused, so none is ever passed on) and expiry are
// required; the principal's tools come from a claim or from scopes mapped in config.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Principal } from './principal.js';
import { toolScope } from './principal.js';

export interface JwtOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  toolsClaim: string;
  principalClaim: string;
  scopes: Record<string, string[]>;
  requiredScope?: string | undefined;
  adminScope: string;
  rateLimitClaim?: string | undefined;
  algorithms: string[];
}

export type JwtOutcome =
  | { ok: true; principal: Principal; scopes: string[] }
  | { ok: false; reason: 'invalid_token'; description: string }
  | { ok: false; reason: 'insufficient_scope'; description: string; scope: string };

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

function globsOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  return undefined;
}

export class JwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: JwtOptions) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  }

  /** Cheap shape test: three base64url parts. API keys never look like this. */
  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
  }

  async verify(token: string): Promise<JwtOutcome> {
    const o = this.options;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: o.issuer,
        audience: o.audience,
        algorithms: o.algorithms,
        requiredClaims: ['exp'],
        clockTolerance: 5,
      }));
    } catch (error) {
      const description = error instanceof joseErrors.JOSEError ? error.code : 'token could not be verified';
      return { ok: false, reason: 'invalid_token', description };
    }
    const scopes = scopesOf(payload);
    if (o.requiredScope && !scopes.includes(o.requiredScope)) {
      return { ok: false, reason: 'insufficient_scope', description: `the token lacks scope ${o.requiredScope}`, scope: o.requiredScope };
    }
    let globs = globsOf(payload[o.toolsClaim]);
    if (globs === undefined && Object.keys(o.scopes).length > 0) {
      globs = scopes.flatMap((scope) => o.scopes[scope] ?? []);
    }
    const id = payload[o.principalClaim];
    const points = o.rateLimitClaim ? Number(payload[o.rateLimitClaim]) : Number.NaN;
    return {
      ok: true,
      scopes,
      principal: Object.freeze({
        id: typeof id === 'string' && id ? id : 'jwt',
        tools: globs === undefined ? undefined : toolScope(globs),
        admin: scopes.includes(o.adminScope),
        rateLimit: Number.isFinite(points) && points > 0 ? { points, duration: 60 } : undefined,
      }),
    };
  }
}
