// A Consul dev agent with ACLs on and deny by default, on free ports, plus the few ACL API
// calls the deployment tests need (policies from deploy/consul/*.hcl, tokens for them).
// The management token is also the agent's own token, so the node registers itself.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ServiceProcess, findBinary, repoRoot } from '../fixtures/child-process.js';
import { freePorts } from '../fixtures/free-port.js';

export interface AclConsul {
  /** http://127.0.0.1:PORT */
  addr: string;
  /** The management (bootstrap) token. */
  managementToken: string;
  /** The consul binary, for CLI calls against this agent. */
  bin: string;
  /** A policy from HCL rules (PUT /v1/acl/policy). */
  createPolicy(name: string, rules: string): Promise<void>;
  /** A client token linked to the named policies; returns its SecretID. */
  createToken(policies: string[], description?: string): Promise<string>;
  /** GET/PUT against the agent's HTTP API with a token; answers status and body text. */
  request(method: 'GET' | 'PUT', path: string, token?: string, body?: unknown): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
  output(): string;
}

const START_TIMEOUT_MS = 20_000;
const TokenSchema = z.object({ SecretID: z.string() }).loose();

export const policyFile = (name: string): string => join(repoRoot(), 'deploy/consul', name);
export const readPolicy = (name: string): Promise<string> => readFile(policyFile(name), 'utf8');

export async function consulBinary(): Promise<{ path: string; minor: number }> {
  const path = await findBinary('CONSUL_BIN', 'consul', [join(repoRoot(), '.tools/consul/usr/bin/consul')]);
  const { stdout } = await promisify(execFile)(path, ['version']);
  const match = /Consul v1\.(\d+)/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${path}: ${stdout}`);
  return { path, minor: Number(match[1]) };
}

/** Starts `consul agent -dev` with `acl { enabled, default_policy = "deny" }` and waits until it serves. */
export async function startAclConsul(): Promise<AclConsul> {
  const { path, minor } = await consulBinary();
  const [http, serfLan, serfWan, server] = await freePorts(4);
  if (http === undefined) throw new Error('startAclConsul: no free port');
  const managementToken = randomUUID();
  // The bootstrap token's key was renamed in 1.11 (master -> initial_management).
  const bootstrapKey = minor >= 11 ? 'initial_management' : 'master';
  const hcl = [
    'acl {',
    '  enabled = true',
    '  default_policy = "deny"',
    '  down_policy = "extend-cache"',
    `  tokens { ${bootstrapKey} = "${managementToken}"  agent = "${managementToken}" }`,
    '}',
    ...(minor >= 14 ? ['ports { grpc_tls = -1 }'] : []),
  ].join('\n');
  const proc = new ServiceProcess(`consul-acl(:${http})`, path, [
    'agent', '-dev',
    '-bind', '127.0.0.1', '-client', '127.0.0.1', '-advertise', '127.0.0.1',
    '-node', `mcp-acl-${http}`,
    '-http-port', String(http), '-dns-port', '-1', '-grpc-port', '-1',
    '-serf-lan-port', String(serfLan), '-serf-wan-port', String(serfWan), '-server-port', String(server),
    '-log-level', 'warn',
    '-hcl', hcl,
  ]);
  const addr = `http://127.0.0.1:${http}`;

  const request: AclConsul['request'] = async (method, path, token, body) => {
    const response = await fetch(`${addr}${path}`, {
      method,
      headers: token ? { 'x-consul-token': token } : {},
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
    return { status: response.status, text: await response.text() };
  };

  // Ready: a leader, and the agent's own node in the catalog (registered with the agent token).
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    if (!proc.alive) throw proc.failure('exited before becoming ready');
    try {
      const leader = await request('GET', '/v1/status/leader');
      const node = await request('GET', `/v1/catalog/node/mcp-acl-${http}`, managementToken);
      if (leader.status === 200 && leader.text !== '""' && node.status === 200 && node.text.trim() !== 'null') break;
      last = `leader ${leader.text}, node ${node.status} ${node.text.slice(0, 80)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw proc.failure(`not ready after ${START_TIMEOUT_MS} ms (${last})`);
    }
    await sleep(100);
  }

  const must = async (method: 'GET' | 'PUT', path: string, body: unknown): Promise<string> => {
    const { status, text } = await request(method, path, managementToken, body);
    if (status !== 200) throw new Error(`${method} ${path}: ${status} ${text}`);
    return text;
  };

  return {
    addr,
    managementToken,
    bin: path,
    async createPolicy(name, rules) {
      await must('PUT', '/v1/acl/policy', { Name: name, Rules: rules });
    },
    async createToken(policies, description = policies.join(',')) {
      const text = await must('PUT', '/v1/acl/token', { Description: description, Policies: policies.map((Name) => ({ Name })) });
      return TokenSchema.parse(JSON.parse(text)).SecretID;
    },
    request,
    stop: async () => { await proc.stop(); },
    output: () => proc.log(),
  };
}
