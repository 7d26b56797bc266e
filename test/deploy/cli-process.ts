// The product's own entry points (dist/src/cli/main.js, dist/src/demo/main.js) run as child
// processes with an environment of the test's choosing, as an operator would run them:
// output kept for error messages, SIGTERM to stop (which is when they deregister).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/child-process.js';

const OUTPUT_LIMIT = 64 * 1024;
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class CliProcess {
  private output = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  /** `entry` is relative to dist/src, e.g. `cli/main.js`; `env` replaces the inherited one. */
  constructor(readonly label: string, entry: string, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(repoRoot(), 'dist/src', entry), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        running.delete(this.child);
        resolve(code);
      });
    });
  }

  get alive(): boolean {
    return running.has(this.child);
  }

  log(): string {
    return this.output;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
