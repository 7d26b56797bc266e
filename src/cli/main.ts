#!/usr/bin/env node
// The `mcp-gateway` command: `serve` runs the gateway, `register` is the sidecar that keeps a
// non-Node backend registered in Consul. A bad config exits 2 with the field named.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import { createLogger } from '../log.js';

const USAGE = `usage:
  mcp-gateway serve [--config FILE]
  mcp-gateway register --name NAME [--prefix PREFIX] --url URL [--consul ADDR] [--ttl SECONDS] [--id ID]
  mcp-gateway stdio --url URL [--token T] [--deadline SECONDS]
  mcp-gateway client-config [--gateway URL] [--token T] [--mode bridge|direct] [--command CMD] [--remote mcp-remote|http] [--name NAME]
  mcp-gateway keygen    prints a new API key and the sha256 line that stores it in the config

environment: HOST, PORT, CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, REDIS_URL, LOG_LEVEL,
MCP_GATEWAY_CONFIG, <NAME>_SERVER_URL (a static backend with prefix <name>),
MCP_GATEWAY_URL, MCP_GATEWAY_TOKEN (stdio, client-config)`;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  let config;
  try {
    config = await loadConfig(values.config, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mcp-gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logging.level);
  const gateway = new Gateway({ config, log, env: process.env });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    gateway.close().then(() => process.exit(0), (error: Error) => {
      log.error({ err: error.message }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await gateway.start();
}

async function register(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' }, prefix: { type: 'string' }, url: { type: 'string' },
      consul: { type: 'string' }, ttl: { type: 'string' }, id: { type: 'string' },
    },
  });
  if (!values.name || !values.url) {
    process.stderr.write(`mcp-gateway register: --name and --url are required\n${USAGE}\n`);
    process.exit(2);
  }
  const { runRegisterSidecar } = await import('../registration/sidecar.js');
  await runRegisterSidecar({
    name: values.name,
    url: values.url,
    ...(values.prefix ? { prefix: values.prefix } : {}),
    ...(values.consul ? { consulAddr: values.consul } : {}),
    ...(values.ttl ? { ttl: `${Number(values.ttl)}s` } : {}),
    ...(values.id ? { id: values.id } : {}),
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'register':
      return register(rest);
    case 'stdio': {
      const { stdioCommand } = await import('../bridge/commands.js');
      return stdioCommand(rest);
    }
    case 'client-config': {
      const { clientConfigCommand } = await import('../bridge/commands.js');
      return clientConfigCommand(rest);
    }
    case 'keygen': {
      const { generateKey } = await import('../auth/api-keys.js');
      const { key, hash } = generateKey();
      process.stdout.write(`key (give to the client; shown once): ${key}\nconfig (auth.apiKeys[].key):        ${hash}\n`);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`mcp-gateway: unknown command "${command}"\n${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`mcp-gateway: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
