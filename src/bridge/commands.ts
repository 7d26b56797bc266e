// The bridge's two CLI commands, parsed here so the `mcp-gateway` dispatcher stays one line
// each: `stdio` runs the stdio bridge until stdin ends, `client-config` prints a
// claude_desktop_config.json block. Bad usage exits 2, as the other commands do.
import { parseArgs } from 'node:util';
import { clientConfig, TOKEN_ENV } from './client-config.js';
import { runStdioBridge, stderrLogger } from './stdio-bridge.js';

export const STDIO_USAGE = 'mcp-gateway stdio --url URL [--token T] [--deadline SECONDS]   (token also from MCP_GATEWAY_TOKEN)';
export const CLIENT_CONFIG_USAGE =
  'mcp-gateway client-config [--gateway URL] [--token T] [--mode bridge|direct] [--command CMD] [--remote mcp-remote|http] [--name NAME]';

function usageError(message: string, usage: string): never {
  process.stderr.write(`mcp-gateway: ${message}\nusage: ${usage}\n`);
  process.exit(2);
}

/** `mcp-gateway stdio`: the bridge on this process's stdin/stdout; exits when stdin ends. */
export async function stdioCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' }, token: { type: 'string' }, deadline: { type: 'string' } } });
  const url = values.url ?? env.MCP_GATEWAY_URL;
  if (!url) usageError('stdio: --url is required', STDIO_USAGE);
  try {
    new URL(url);
  } catch {
    usageError(`stdio: --url ${url} is not a URL`, STDIO_USAGE);
  }
  const deadline = values.deadline === undefined ? undefined : Number(values.deadline);
  if (deadline !== undefined && !(deadline > 0)) usageError('stdio: --deadline takes a positive number of seconds', STDIO_USAGE);
  const bridge = await runStdioBridge({
    url,
    token: values.token ?? env[TOKEN_ENV],
    log: stderrLogger(env.LOG_LEVEL ?? 'info'),
    ...(deadline !== undefined ? { deadlineMs: deadline * 1000 } : {}),
  });
  const stop = (): void => void bridge.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await bridge.closed;
  // Timers of abandoned sessions must not keep a bridge whose client left alive.
  process.exit(0);
}

/** `mcp-gateway client-config`: prints the config object as JSON on stdout. */
export async function clientConfigCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      gateway: { type: 'string' }, token: { type: 'string' }, mode: { type: 'string' },
      command: { type: 'string' }, remote: { type: 'string' }, name: { type: 'string' },
    },
  });
  const mode = values.mode ?? 'bridge';
  if (mode !== 'bridge' && mode !== 'direct') usageError(`client-config: --mode is bridge or direct, not "${mode}"`, CLIENT_CONFIG_USAGE);
  const remote = values.remote ?? 'mcp-remote';
  if (remote !== 'mcp-remote' && remote !== 'http') usageError(`client-config: --remote is mcp-remote or http, not "${remote}"`, CLIENT_CONFIG_USAGE);
  const config = await clientConfig({
    gatewayUrl: values.gateway ?? env.MCP_GATEWAY_URL ?? 'http://127.0.0.1:8000',
    token: values.token ?? env[TOKEN_ENV],
    mode,
    command: values.command,
    name: values.name,
    remote,
    warn: (message) => process.stderr.write(`mcp-gateway: ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
}
