// One Consul blocking-query loop, kept to Consul's rules: index that goes backwards is a
// reset (resync), index 0 is never sent twice in a row, the loop is rate-limited under
// churn, errors back off, and a per-request deadline is the watchdog for a stuck poll.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

export interface BlockingResult {
  index: bigint | undefined;
  body: unknown;
}

/** Performs one request: `index` 0 means "answer now". */
export type BlockingFetch = (index: bigint, waitSeconds: number, timeoutMs: number) => Promise<BlockingResult>;

export interface BlockingOptions {
  name: string;
  waitSeconds: number;
  minIntervalMs: number;
  maxBackoffMs: number;
  log: Logger;
}

export interface ChangeMeta {
  /** The index went backwards (a fresh or restored Consul): everything must be re-read. */
  reset: boolean;
  /** First answer after one or more failed requests. */
  recovered: boolean;
}

export class BlockingWatch<T> {
  /** The index sent with the next request (0: answer at once). */
  private index = 0n;
  /** The last index Consul answered with, to tell when it went backwards. */
  private seen = 0n;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: AbortController = new AbortController();
  errors = 0;
  lastSuccess = 0;

  constructor(
    private readonly fetch: BlockingFetch,
    private readonly parse: (body: unknown) => T,
    private readonly onChange: (data: T, meta: ChangeMeta) => void | Promise<void>,
    private readonly onError: (error: Error) => void,
    private readonly options: BlockingOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake.abort();
    await this.loop;
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return;
    try {
      await sleep(ms, undefined, { signal: this.wake.signal });
    } catch {
      // woken by close()
    }
  }

  private async run(): Promise<void> {
    const { waitSeconds, minIntervalMs, maxBackoffMs, log, name } = this.options;
    // Consul adds up to wait/16 of jitter; past that plus a margin the poll is stuck.
    const timeoutMs = waitSeconds * 1000 + Math.ceil((waitSeconds * 1000) / 16) + 5000;
    let failures = 0;
    while (!this.closed) {
      const started = Date.now();
      let result: BlockingResult;
      try {
        result = await this.fetch(this.index, waitSeconds, timeoutMs);
      } catch (error) {
        if (this.closed) return;
        failures += 1;
        this.errors += 1;
        this.onError(error as Error);
        // After a failure ask without blocking: a restarted Consul with a lower index would
        // otherwise hold our request until its index passes the old one, or the wait ends.
        this.index = 0n;
        if (failures === 1) log.warn({ watch: name, err: (error as Error).message }, 'consul watch failed; keeping last known backends, retrying with backoff');
        const backoff = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 16));
        await this.pause(backoff / 2 + Math.random() * (backoff / 2));
        continue;
      }
      if (this.closed) return;
      const recovered = failures > 0;
      if (recovered) log.info({ watch: name, failures }, 'consul watch recovered');
      failures = 0;
      this.lastSuccess = Date.now();

      const next = result.index !== undefined && result.index > 0n ? result.index : 1n;
      const reset = this.seen > 0n && next < this.seen;
      if (reset) log.warn({ watch: name, from: String(this.seen), to: String(next) }, 'consul index went backwards; resyncing');
      const changed = next !== this.seen || recovered;
      this.index = next;
      this.seen = next;
      if (changed) {
        let data: T;
        try {
          data = this.parse(result.body);
        } catch (error) {
          log.error({ watch: name, err: (error as Error).message }, 'unexpected consul payload; ignored');
          this.onError(error as Error);
          await this.pause(maxBackoffMs);
          continue;
        }
        try {
          await this.onChange(data, { reset, recovered });
        } catch (error) {
          log.error({ watch: name, err: (error as Error).message }, 'consul change handler failed');
        }
      }
      // Rate limit: under churn every answer comes back at once; space the polls out.
      await this.pause(minIntervalMs - (Date.now() - started));
    }
  }
}
