// A child process for the bridge tests, standing in for `mcp-gateway` until the CLI wires the
// command: `bridge-runner.js stdio --url URL ...` runs the stdio bridge on this process's
// stdin/stdout. It acts only when MCP_BRIDGE_RUNNER is set (the test runner loads every file
// under test/ and must find it inert).
import { stdioCommand } from '../../src/bridge/commands.js';

const [command, ...args] = process.argv.slice(2);
if (process.env.MCP_BRIDGE_RUNNER !== undefined) {
  if (command !== 'stdio') {
    process.stderr.write(`bridge-runner: expected "stdio", got ${String(command)}\n`);
    process.exit(2);
  }
  await stdioCommand(args);
}
