// Runs the conformance backend on its own: node dist/test/conformance/main.js [--port N] [--host H]
// Prints its MCP URL on stdout ("listening <url>") and stops on SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startConformanceServer } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3001' },
    host: { type: 'string', default: '127.0.0.1' },
    verbose: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`conformance backend: --port must be a port number, not "${values.port}"\n`);
  process.exit(2);
}
const server = await startConformanceServer({
  port,
  host: values.host,
  ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
});
process.stdout.write(`listening ${server.url}\n`);
const stop = (): void => {
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
