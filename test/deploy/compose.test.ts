// docker-compose.multi.yml checked by Debian's `docker-compose config` (no Docker engine
// needed), then the resolved file's structure: Consul with its UI, Redis, two gateway
// replicas behind one published port, three self-registering backends, healthchecks and
// depends_on conditions everywhere, secrets only from the environment. Also the Dockerfiles
// (multi-stage, non-root, production dependencies only), the load balancer's config
// (`haproxy -c`) and the gateway config the replicas mount.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../src/config/load.js';
import { findBinary, repoRoot } from '../fixtures/child-process.js';

const root = repoRoot();
const COMPOSE_FILE = join(root, 'docker-compose.multi.yml');
const ENV_EXAMPLE = join(root, '.env.example');
const SECRET_NAME = /TOKEN|PASSWORD|SECRET|_KEY$|API_KEY/;

const Healthcheck = z.object({ test: z.array(z.string()).min(2), interval: z.string(), retries: z.number().int().positive() }).loose();
const DependsOn = z.record(z.string(), z.object({ condition: z.enum(['service_healthy', 'service_completed_successfully', 'service_started']) }));
const ServiceSchema = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string().nullable()).optional(),
  hostname: z.string().optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: Healthcheck.optional(),
  depends_on: DependsOn.optional(),
  user: z.string().optional(),
}).loose();
type Service = z.infer<typeof ServiceSchema>;
const ComposeSchema = z.object({ services: z.record(z.string(), ServiceSchema), volumes: z.record(z.string(), z.unknown()).optional() }).loose();

async function dockerCompose(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  let bin: string;
  try {
    bin = await findBinary('DOCKER_COMPOSE_BIN', 'docker-compose');
  } catch (error) {
    throw new Error(`docker-compose is required for this test (Debian: apt-get install docker-compose; scripts/test.sh installs it): ${(error as Error).message}`);
  }
  return promisify(execFile)(bin, ['-f', COMPOSE_FILE, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env } });
}

function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

/** Dockerfile instructions (continuation lines joined, comments dropped), grouped by stage. */
function stages(dockerfile: string): { from: string; instructions: string[] }[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: { from: string; instructions: string[] }[] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, instructions: [] });
    else out.at(-1)?.instructions.push(line);
  }
  return out;
}

describe('docker-compose.multi.yml', () => {
  let config: z.infer<typeof ComposeSchema>;
  let raw: string;
  let example: Record<string, string>;
  /** .env.example with each placeholder replaced by a value of its own, to trace where it lands. */
  let values: Record<string, string>;
  let dir: string;
  const service = (name: string): Service => {
    const s = config.services[name];
    assert.ok(s, `service ${name}`);
    return s;
  };
  const gatewayNames = (): string[] =>
    Object.entries(config.services).filter(([, s]) => s.build?.dockerfile === 'deploy/docker/Dockerfile.gateway').map(([n]) => n).sort();
  const backendNames = (): string[] =>
    Object.entries(config.services).filter(([, s]) => s.build?.dockerfile === 'deploy/docker/Dockerfile.backend').map(([n]) => n).sort();

  before(async () => {
    raw = await readFile(COMPOSE_FILE, 'utf8');
    example = envFile(await readFile(ENV_EXAMPLE, 'utf8'));
    values = Object.fromEntries(Object.entries(example).map(([k, v]) => [k, v === 'REPLACE_ME' ? `${k.toLowerCase()}-value` : v]));
    dir = await mkdtemp(join(tmpdir(), 'mcp-compose-'));
    await writeFile(join(dir, 'traced.env'), Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(''));
    await writeFile(join(dir, 'empty.env'), '');
    const { stdout } = await dockerCompose(['--env-file', join(dir, 'traced.env'), 'config'], {});
    config = ComposeSchema.parse(parse(stdout));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is valid for docker-compose config with .env.example, and refuses to run without the secrets', async () => {
    const { stdout } = await dockerCompose(['--env-file', ENV_EXAMPLE, 'config'], {});
    assert.ok(Object.keys(ComposeSchema.parse(parse(stdout)).services).length >= 8);
    assert.ok(Object.keys(config.services).length >= 8);
    await assert.rejects(dockerCompose(['--env-file', join(dir, 'empty.env'), 'config', '--quiet'], {}), (error: Error & { stderr?: string }) => {
      assert.match(error.stderr ?? error.message, /set [A-Z_]+ in \.env/, 'names the missing variable');
      return true;
    });
  });

  it('runs Consul as a server with the UI published on 8500, and Redis', async () => {
    const consul = service('consul');
    assert.match(consul.image ?? '', /consul/);
    assert.ok(consul.ports?.some((p) => /:8500:8500(\/tcp)?$/.test(p)), `ports ${consul.ports?.join(', ')}`);
    const hcl = await readFile(join(root, 'deploy/compose/consul.hcl'), 'utf8');
    assert.match(hcl, /^server\s*=\s*true/m);
    assert.match(hcl, /ui_config\s*{\s*enabled\s*=\s*true/);
    assert.match(hcl, /default_policy\s*=\s*"deny"/);
    assert.match(service('redis').image ?? '', /redis/);
  });

  it('has exactly two gateway replicas, each its own host, both on the same Consul and Redis', () => {
    const gateways = gatewayNames();
    assert.deepEqual(gateways, ['gateway-1', 'gateway-2']);
    const hosts = new Set<string>();
    for (const name of gateways) {
      const s = service(name);
      const env = s.environment ?? {};
      assert.equal(env.HOST, s.hostname, `${name} binds (and is checked by Consul at) its own hostname`);
      hosts.add(env.HOST ?? '');
      assert.equal(env.CONSUL_HTTP_ADDR, 'http://consul:8500');
      assert.match(env.REDIS_URL ?? '', /@redis:6379$/);
      assert.ok(!s.ports, `${name} is reached only through the load balancer`);
      assert.deepEqual(s.command?.slice(0, 2), ['serve', '--config']);
    }
    assert.equal(hosts.size, 2);
  });

  it('publishes one port: a load balancer over both replicas, with session stickiness', async () => {
    const published = Object.entries(config.services).filter(([, s]) => s.ports?.length).map(([n]) => n).sort();
    assert.deepEqual(published, ['consul', 'lb']);
    const lb = service('lb');
    assert.equal(lb.ports?.length, 1);
    assert.deepEqual(Object.keys(lb.depends_on ?? {}).sort(), gatewayNames());
    const mount = lb.volumes?.find((v) => v.includes('haproxy.cfg'));
    assert.ok(mount, 'haproxy.cfg mounted');
    const cfg = await readFile(join(root, 'deploy/compose/haproxy.cfg'), 'utf8');
    for (const name of gatewayNames()) assert.match(cfg, new RegExp(`^\\s*server ${name} ${service(name).hostname}:8000 `, 'm'));
    assert.match(cfg, /^\s*stick match req\.hdr\(mcp-session-id\)/m);
    assert.match(cfg, /^\s*stick store-response res\.hdr\(mcp-session-id\)/m);
    assert.match(cfg, /^\s*option httpchk GET \/readyz/m);
  });

  it('haproxy accepts the load balancer config (haproxy -c)', async () => {
    const bin = await findBinary('HAPROXY_BIN', 'haproxy', ['/usr/sbin/haproxy']);
    const { stdout, stderr } = await promisify(execFile)(bin, ['-c', '-f', join(root, 'deploy/compose/haproxy.cfg')]);
    assert.match(`${stdout}${stderr}`, /Configuration file is valid/);
  });

  it('runs the three demo backends, each registering in Consul under its own hostname with its own token', () => {
    assert.deepEqual(backendNames(), ['finance', 'hr', 'ops']);
    for (const name of backendNames()) {
      const s = service(name);
      const args = s.command ?? [];
      assert.equal(args[0], name);
      assert.equal(args[args.indexOf('--consul') + 1], 'http://consul:8500');
      assert.equal(args[args.indexOf('--advertise') + 1], s.hostname, `${name} advertises an address Consul and the gateways resolve`);
      assert.equal(args[args.indexOf('--host') + 1], '0.0.0.0');
      assert.ok(s.environment?.CONSUL_HTTP_TOKEN, `${name} has a token`);
      assert.ok((s as { stop_grace_period?: string }).stop_grace_period, `${name} gets time to deregister on stop`);
    }
    // Each service's token is its own variable from .env.
    assert.equal(service('ops').environment?.CONSUL_HTTP_TOKEN, values.OPS_CONSUL_TOKEN);
    assert.equal(service('hr').environment?.CONSUL_HTTP_TOKEN, values.HR_CONSUL_TOKEN);
    assert.equal(service('finance').environment?.CONSUL_HTTP_TOKEN, values.FINANCE_CONSUL_TOKEN);
    for (const name of gatewayNames()) assert.equal(service(name).environment?.CONSUL_HTTP_TOKEN, values.GATEWAY_CONSUL_TOKEN);
  });

  it('gives every long-running service a healthcheck, and every dependency a condition', () => {
    for (const [name, s] of Object.entries(config.services)) {
      if (name === 'consul-acl-init') continue;
      assert.ok(s.healthcheck, `${name} has a healthcheck`);
    }
    for (const name of gatewayNames()) {
      const deps = service(name).depends_on ?? {};
      assert.equal(deps.consul?.condition, 'service_healthy');
      assert.equal(deps.redis?.condition, 'service_healthy');
      assert.equal(deps['consul-acl-init']?.condition, 'service_completed_successfully');
      assert.match(service(name).healthcheck?.test.join(' ') ?? '', /\/readyz/);
    }
    for (const name of [...backendNames(), 'lb']) {
      const deps = service(name).depends_on ?? {};
      assert.ok(Object.keys(deps).length > 0, `${name} waits for something`);
      for (const [dep, { condition }] of Object.entries(deps)) assert.notEqual(condition, 'service_started', `${name} -> ${dep}`);
    }
  });

  it('holds no literal secret: every secret is a ${VARIABLE} that .env.example leaves as a placeholder', () => {
    const secretLines = raw.split('\n').filter((line) => /^\s+[A-Z0-9_]+:/.test(line) && SECRET_NAME.test(line.split(':')[0]!.trim()));
    assert.ok(secretLines.length >= 8, secretLines.join('\n'));
    for (const line of secretLines) assert.match(line, /:\s*\$\{[A-Z0-9_]+(:\?[^}]*)?\}\s*$/, `secret from the environment: ${line.trim()}`);
    assert.doesNotMatch(raw, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i, 'no UUID token in the file');
    assert.match(raw, /requirepass \\"\$\$REDIS_PASSWORD\\"/, 'the Redis password is read from the environment at run time');
    const secrets = Object.entries(example).filter(([k]) => SECRET_NAME.test(k));
    assert.ok(secrets.length >= 6, 'the example names every secret');
    for (const [key, value] of secrets) assert.equal(value, 'REPLACE_ME', `.env.example ${key} is a placeholder`);
    // And in the resolved file, every secret-named value is one that came from the env file.
    const fromEnv = new Set(Object.values(values));
    for (const [name, s] of Object.entries(config.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!SECRET_NAME.test(key) || value === null) continue;
        assert.ok(fromEnv.has(value), `${name}.${key} comes from .env`);
      }
    }
  });

  it('mounts a gateway config that the gateway accepts with the replicas\' environment', async () => {
    const s = service('gateway-1');
    const mount = s.volumes?.find((v) => v.endsWith(':/etc/mcp-gateway/gateway.yaml:ro'));
    assert.ok(mount);
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).filter((e): e is [string, string] => e[1] !== null));
    const cfg = await loadConfig(join(root, 'deploy/compose/gateway.yaml'), env);
    assert.equal(cfg.server.host, 'gateway-1');
    assert.equal(cfg.server.port, 8000);
    assert.equal(cfg.discovery.consul?.address, 'http://consul:8500');
    assert.equal(cfg.discovery.consul?.token, values.GATEWAY_CONSUL_TOKEN);
    assert.equal(cfg.rateLimit?.redis, `redis://:${values.REDIS_PASSWORD}@redis:6379`);
    assert.equal(cfg.upstream.kvPrefix, 'mcp-gateway/backends', 'matches the gateway ACL policy\'s key_prefix');
  });
});

describe('deploy/docker', () => {
  for (const name of ['Dockerfile.gateway', 'Dockerfile.backend']) {
    it(`${name}: multi-stage, small Node 20 runtime, production dependencies only, non-root`, async () => {
      const all = stages(await readFile(join(root, 'deploy/docker', name), 'utf8'));
      assert.ok(all.length >= 2, 'multi-stage');
      const runtime = all.at(-1)!;
      assert.match(runtime.from, /^FROM node:20-(alpine|slim)\b/i);
      assert.ok(runtime.instructions.some((i) => /^RUN npm ci\b.*--omit=dev/.test(i)), 'npm ci --omit=dev in the runtime stage');
      assert.ok(!runtime.instructions.some((i) => /^RUN .*\btsc\b/.test(i)), 'no compiling in the runtime stage');
      assert.ok(runtime.instructions.some((i) => /^COPY --from=\w+ \S*dist\/src /.test(i)), 'only dist/src from the build stage');
      const user = runtime.instructions.filter((i) => /^USER /.test(i)).at(-1);
      assert.ok(user, 'sets a USER');
      assert.doesNotMatch(user, /^USER (root|0)(:|$)/);
      assert.match(user, /^USER \d+(:\d+)?$/, 'numeric, so runAsNonRoot can verify it');
      assert.ok(runtime.instructions.some((i) => /^ENTRYPOINT \[/.test(i)), 'exec-form entrypoint: SIGTERM reaches node');
      assert.ok(runtime.instructions.some((i) => /^HEALTHCHECK /.test(i)));
    });
  }

  it('.dockerignore keeps dependencies, builds, secrets and VCS data out of the context', async () => {
    const ignored = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', '.env', '.tools', 'test']) assert.ok(ignored.includes(entry), entry);
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json']) assert.ok(!ignored.includes(needed), needed);
  });
});
