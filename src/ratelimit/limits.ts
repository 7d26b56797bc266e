// Rate limits with rate-limiter-flexible: one limiter per rule, in Redis when configured
// (shared by every gateway replica on that Redis), each with an in-process insurance
// limiter that takes over at once when Redis is down or slow. A request consumes a point
// from every rule that matches it: its principal's, its backend's, and each tool glob's.
import { Redis } from 'ioredis';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Limit, Principal } from '../auth/principal.js';

export interface RateLimitConfig {
  redis?: string | undefined;
  redisTimeoutMs: number;
  keyPrefix: string;
  default?: Limit | undefined;
  backends: Record<string, Limit>;
  tools: (Limit & { match: string })[];
  other?: Limit | undefined;
}

/** Requests that consume a point by default (CONTRACT §3). */
export const METERED_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

export interface Rejection {
  /** e.g. `principal:alice`, `backend:fin`, `tool:fin__generate_report`. */
  rule: string;
  limit: number;
  retryAfterSeconds: number;
  resetSeconds: number;
}

export interface Admission {
  /** Tightest remaining budget among the rules consumed, for RateLimit-* headers. */
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface LimitEvents {
  onRejected?: (rule: string) => void;
  onFallback?: (active: boolean) => void;
  onFallbackUse?: () => void;
}

interface Rule {
  name: string;
  key: string;
  limiter: RateLimiterAbstract;
  points: number;
}

export class RateLimits {
  readonly redis: Redis | undefined;
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly toolRules: { match: (name: string) => boolean; glob: string; limit: Limit }[];
  private degraded = false;

  constructor(private readonly config: RateLimitConfig, private readonly log: Logger, private readonly events: LimitEvents = {}) {
    this.toolRules = config.tools.map((rule) => ({ match: picomatch(rule.match), glob: rule.match, limit: rule }));
    if (config.redis) {
      this.redis = new Redis(config.redis, {
        // Fail fast instead of queueing: the insurance limiter answers while Redis is away.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        // Calls that consume in the same turn of the loop share one write (and one read) to
        // Redis: under load, fewer syscalls in the gateway and fewer reads in Redis.
        enableAutoPipelining: true,
        commandTimeout: config.redisTimeoutMs,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      });
      this.redis.on('ready', () => this.setDegraded(false));
      this.redis.on('error', (error: Error) => this.setDegraded(true, error));
      this.redis.on('end', () => this.setDegraded(true));
      this.redis.on('close', () => this.setDegraded(true));
    }
  }

  /** Whether limits are being kept in-process because Redis is unreachable. */
  get usingFallback(): boolean {
    return this.redis !== undefined && this.redis.status !== 'ready';
  }

  private setDegraded(degraded: boolean, error?: Error): void {
    if (degraded === this.degraded) return;
    if (degraded && this.redis?.status === 'ready') return;
    this.degraded = degraded;
    if (degraded) this.log.warn({ err: error?.message }, 'redis unreachable: rate limits are kept in-process until it is back');
    else this.log.info('redis reachable again: rate limits shared through redis');
    this.events.onFallback?.(degraded);
  }

  private limiter(name: string, limit: Limit): RateLimiterAbstract {
    const id = `${name}:${limit.points}:${limit.duration}:${limit.blockDuration ?? 0}`;
    let limiter = this.limiters.get(id);
    if (limiter) return limiter;
    const options = { points: limit.points, duration: limit.duration, blockDuration: limit.blockDuration ?? 0, keyPrefix: `${this.config.keyPrefix}:${name}` };
    limiter = this.redis
      ? new RateLimiterRedis({ ...options, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) })
      : new RateLimiterMemory(options);
    this.limiters.set(id, limiter);
    return limiter;
  }

  /** The rules that apply to one JSON-RPC request. */
  rulesFor(principal: Principal, method: string, tool: string | undefined, backend: string | undefined): Rule[] {
    const rules: Rule[] = [];
    if (METERED_METHODS.has(method)) {
      const own = principal.rateLimit ?? this.config.default;
      if (own) rules.push({ name: `principal:${principal.id}`, key: principal.id, limiter: this.limiter('principal', own), points: own.points });
      const perBackend = backend ? this.config.backends[backend] : undefined;
      if (backend && perBackend) rules.push({ name: `backend:${backend}`, key: backend, limiter: this.limiter('backend', perBackend), points: perBackend.points });
      if (tool) {
        for (const rule of this.toolRules) {
          if (rule.match(tool)) rules.push({ name: `tool:${rule.glob}`, key: rule.glob, limiter: this.limiter('tool', rule.limit), points: rule.limit.points });
        }
      }
    } else if (this.config.other) {
      rules.push({ name: `other:${principal.id}`, key: principal.id, limiter: this.limiter('other', this.config.other), points: this.config.other.points });
    }
    return rules;
  }

  /** Consumes one point from every matching rule; the first rule that refuses is reported. */
  async consume(principal: Principal, method: string, tool?: string, backend?: string): Promise<{ ok: true; admission?: Admission } | { ok: false; rejection: Rejection }> {
    const rules = this.rulesFor(principal, method, tool, backend);
    if (rules.length === 0) return { ok: true };
    if (this.usingFallback) this.events.onFallbackUse?.();
    let admission: Admission | undefined;
    for (const rule of rules) {
      try {
        const res = await rule.limiter.consume(rule.key, 1);
        const resetSeconds = Math.ceil(res.msBeforeNext / 1000);
        if (!admission || res.remainingPoints < admission.remaining) admission = { limit: rule.points, remaining: res.remainingPoints, resetSeconds };
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) {
          // Neither Redis nor the insurance limiter answered: do not refuse calls for that.
          this.log.error({ rule: rule.name, err: (error as Error).message }, 'rate limiter failed; request let through');
          continue;
        }
        this.events.onRejected?.(rule.name);
        const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        return { ok: false, rejection: { rule: rule.name, limit: rule.points, retryAfterSeconds: seconds, resetSeconds: seconds } };
      }
    }
    return admission ? { ok: true, admission } : { ok: true };
  }

  async close(): Promise<void> {
    if (!this.redis) return;
    this.redis.removeAllListeners('end');
    this.redis.removeAllListeners('close');
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
