// The stdio bridge as a child process with an SDK client on it over stdio, for the bridge
// tests: its stderr (JSON log lines) kept for assertions, tools/list_changed counted.
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

/** Stands in for `mcp-gateway`: `node bridge-runner.js stdio --url ...`. */
export const RUNNER = fileURLToPath(new URL('./bridge-runner.js', import.meta.url));

export interface BridgeClient {
  client: Client;
  transport: StdioClientTransport;
  /** The bridge's stderr so far (its JSON log lines). */
  logs(): string;
  changes(): number;
  nextChange(ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** The stdio bridge as a child process (`stdio ARGS`, or the entry a client config gives), with an SDK client on it. */
export async function startBridge(
  args: string[],
  capabilities: ConstructorParameters<typeof Client>[1] = {},
  launch: { command: string; args: string[]; env?: Record<string, string> } = { command: process.execPath, args: [RUNNER, 'stdio', ...args] },
): Promise<BridgeClient> {
  const transport = new StdioClientTransport({
    command: launch.command,
    args: launch.args,
    env: { ...(launch.env ?? {}), MCP_BRIDGE_RUNNER: '1', LOG_LEVEL: 'debug' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'bridge-test', version: '1.0.0' }, capabilities);
  let count = 0;
  let waiters: (() => void)[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    count += 1;
    for (const resolve of waiters.splice(0)) resolve();
  });
  try {
    await client.connect(transport);
  } catch (error) {
    await transport.close();
    throw new Error(`${(error as Error).message}\n--- bridge stderr ---\n${stderr}`);
  }
  return {
    client,
    transport,
    logs: () => stderr,
    changes: () => count,
    nextChange: (ms = 5000) => new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== done);
        reject(new Error(`no tools/list_changed within ${ms} ms\n--- bridge stderr ---\n${stderr}`));
      }, ms);
      waiters.push(done);
    }),
    close: () => client.close(),
  };
}
