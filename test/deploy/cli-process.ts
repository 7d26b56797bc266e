// The product's own entry points (dist/src/cli/main.js, dist/src/demo/main.js) run as child
// processes with an environment of the test's choosing, as an operator would run them:
// output kept for error messages, SIGTERM to stop (which is when they deregister).
import { join } from 'node:path';
import { repoRoot, ServiceProcess } from '../fixtures/child-process.js';

export class CliProcess extends ServiceProcess {
  /** `entry` is relative to dist/src, e.g. `cli/main.js`; `env` replaces the inherited one. */
  constructor(label: string, entry: string, args: string[], env: Record<string, string>) {
    super(label, process.execPath, [join(repoRoot(), 'dist/src', entry), ...args], { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env });
  }

  override stop(graceMs = 10_000): Promise<number | null> {
    return super.stop(graceMs);
  }
}
