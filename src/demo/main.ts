// Runs one demo backend: `node dist/src/demo/main.js ops|hr|finance [--port N] [--host H]
// [--consul URL] [--advertise HOST]`; with a Consul address (flag or CONSUL_HTTP_ADDR) it
// registers itself the way the gateway discovers backends, and deregisters on SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLogger } from '../log.js';
import { registerWithConsul, type Registration } from '../registration/register.js';
import { DEFAULT_PORTS, TEAM_KINDS, startDemoBackend, type TeamKind } from './backends.js';

// Consul service names and tool prefixes, as in the seed tutorial (finance's tools are fin/...).
const SERVICE: Record<TeamKind, { name: string; prefix: string }> = {
  ops: { name: 'ops', prefix: 'ops' },
  hr: { name: 'hr', prefix: 'hr' },
  finance: { name: 'finance', prefix: 'fin' },
};

const USAGE = 'usage: main.js ops|hr|finance [--port N] [--host H] [--consul http://127.0.0.1:8500] [--advertise HOST]';

async function main(): Promise<void> {
  // Logs on stderr in the gateway's format (ISO time, level names).
  const log = createLogger(process.env.LOG_LEVEL ?? 'info', pino.destination({ fd: 2, sync: false }));
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      consul: { type: 'string' },
      advertise: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const kind = positionals[0] as TeamKind | undefined;
  if (values.help || positionals.length !== 1 || kind === undefined || !TEAM_KINDS.includes(kind)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const port = values.port === undefined ? DEFAULT_PORTS[kind] : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port ${values.port}: not a port\n${USAGE}\n`);
    process.exit(2);
  }

  const backend = await startDemoBackend(kind, { host: values.host, port });
  log.info({ team: kind, url: backend.url }, 'demo backend listening');

  let registration: Registration | undefined;
  const consulAddr = values.consul ?? process.env.CONSUL_HTTP_ADDR;
  if (consulAddr) {
    // Consul (and the gateway) must reach the backend at the advertised address, not a wildcard.
    const advertise = (url: string): string => {
      if (values.advertise === undefined) return url;
      const rewritten = new URL(url);
      rewritten.hostname = values.advertise;
      return rewritten.toString();
    };
    registration = await registerWithConsul({
      ...SERVICE[kind],
      url: advertise(backend.url),
      checkUrl: advertise(backend.healthUrl),
      consulAddr,
      deregisterOnSignal: false,
      logger: log,
    });
  }

  const shutdown = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down');
    void (async () => {
      await registration?.deregister().catch((error: unknown) => log.error({ err: (error as Error).message }, 'deregistration failed'));
      await backend.close();
      process.exit(0);
    })();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo backend failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
