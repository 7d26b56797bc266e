// deploy/k8s/: every manifest parses, validates against the Kubernetes API schemas
// (kubernetes-models: the OpenAPI definitions compiled to validators, offline), and holds what
// the issue asks of it (checked with zod): 2+ replicas, probes on /healthz and /readyz,
// resources, a non-root security context, a PodDisruptionBudget, an autoscaling/v2 HPA, a
// Service, a ConfigMap whose config the gateway itself accepts, a Secret with placeholders
// only, and consul-k8s catalog-sync annotations.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import { repoRoot } from '../fixtures/child-process.js';

const dir = join(repoRoot(), 'deploy/k8s');

interface Manifest {
  file: string;
  doc: Record<string, unknown> & { apiVersion?: string; kind?: string };
}

// One validator class per apiVersion/kind the manifests use: `new Kind(doc).validate()` throws
// with the JSON path of the first violation.
type ModelClass = new (data: unknown) => { validate(): void };
const MODELS: Record<string, { module: string; name: string }> = {
  'v1/Namespace': { module: 'kubernetes-models/v1', name: 'Namespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1', name: 'ConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1', name: 'Secret' },
  'v1/Service': { module: 'kubernetes-models/v1', name: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1', name: 'Deployment' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1', name: 'PodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2', name: 'HorizontalPodAutoscaler' },
};

async function model(key: string): Promise<ModelClass> {
  const entry = MODELS[key];
  assert.ok(entry, `no schema for ${key}: add it to MODELS`);
  let loaded: Record<string, unknown>;
  try {
    // A specifier in a variable: the build does not depend on the package being installed.
    const specifier: string = entry.module;
    loaded = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot load ${entry.module}: the devDependency kubernetes-models (^4.5) must be installed (${(error as Error).message})`);
  }
  return loaded[entry.name] as ModelClass;
}

const labels = z.record(z.string(), z.string());
const httpProbe = (path: string) => z.object({ httpGet: z.object({ path: z.literal(path), port: z.union([z.string(), z.number()]) }).loose() }).loose();
const quantity = z.union([z.string(), z.number()]);

const DeploymentSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }).loose(),
  spec: z.object({
    replicas: z.number().int().min(2),
    selector: z.object({ matchLabels: labels }),
    template: z.object({
      metadata: z.object({ labels }).loose(),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int().positive(),
        securityContext: z.object({
          runAsNonRoot: z.literal(true),
          runAsUser: z.number().int().positive(),
          seccompProfile: z.object({ type: z.literal('RuntimeDefault') }),
        }).loose(),
        containers: z.array(z.object({
          name: z.string(),
          image: z.string(),
          args: z.array(z.string()),
          ports: z.array(z.object({ name: z.string(), containerPort: z.number() }).loose()).min(1),
          envFrom: z.array(z.object({ secretRef: z.object({ name: z.string() }) }).loose()).min(1),
          livenessProbe: httpProbe('/healthz'),
          readinessProbe: httpProbe('/readyz'),
          resources: z.object({
            requests: z.object({ cpu: quantity, memory: quantity }),
            limits: z.object({ cpu: quantity.optional(), memory: quantity }),
          }),
          securityContext: z.object({
            allowPrivilegeEscalation: z.literal(false),
            readOnlyRootFilesystem: z.literal(true),
            capabilities: z.object({ drop: z.array(z.string()).refine((d) => d.includes('ALL'), 'drops ALL') }),
          }).loose(),
          lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.tuple([z.literal('sleep'), z.string()]) }) }) }).optional(),
          volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() }).loose()),
        }).loose()).length(1),
        volumes: z.array(z.object({ name: z.string(), configMap: z.object({ name: z.string() }).optional() }).loose()),
      }).loose(),
    }).loose(),
  }).loose(),
}).loose();

const ServiceSchema = z.object({
  metadata: z.object({ name: z.string(), annotations: z.record(z.string(), z.string()) }).loose(),
  spec: z.object({
    selector: labels,
    ports: z.array(z.object({ port: z.number(), targetPort: z.union([z.string(), z.number()]) }).loose()).min(1),
  }).loose(),
}).loose();

const PdbSchema = z.object({
  spec: z.object({ minAvailable: z.number().int().min(1), selector: z.object({ matchLabels: labels }) }).loose(),
}).loose();

const HpaSchema = z.object({
  spec: z.object({
    scaleTargetRef: z.object({ apiVersion: z.literal('apps/v1'), kind: z.literal('Deployment'), name: z.string() }),
    minReplicas: z.number().int().min(2),
    maxReplicas: z.number().int(),
    metrics: z.array(z.object({ type: z.string() }).loose()).min(1),
  }).loose(),
}).loose();

const ConfigMapSchema = z.object({ metadata: z.object({ name: z.string() }).loose(), data: z.object({ 'gateway.yaml': z.string() }) }).loose();
const SecretSchema = z.object({ metadata: z.object({ name: z.string() }).loose(), stringData: z.record(z.string(), z.string()) }).loose();
const KustomizationSchema = z.object({ resources: z.array(z.string()) }).loose();

const matches = (selector: Record<string, string>, podLabels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => podLabels[k] === v);

describe('Kubernetes manifests in deploy/k8s', () => {
  const manifests: Manifest[] = [];
  const one = (kind: string): Manifest => {
    const found = manifests.filter((m) => m.doc.kind === kind && !m.file.startsWith('examples/'));
    assert.equal(found.length, 1, `exactly one ${kind} (found ${found.map((m) => m.file).join(', ') || 'none'})`);
    return found[0]!;
  };

  before(async () => {
    const files = [
      ...(await readdir(dir)).filter((f) => f.endsWith('.yaml')),
      ...(await readdir(join(dir, 'examples'))).filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`),
    ];
    for (const file of files.sort()) {
      for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
        assert.deepEqual(document.errors, [], `${file} parses as YAML`);
        const doc: unknown = document.toJS();
        if (doc === null) continue;
        assert.ok(typeof doc === 'object' && !Array.isArray(doc), `${file}: a mapping`);
        manifests.push({ file, doc: doc as Manifest['doc'] });
      }
    }
  });

  it('every object validates against the Kubernetes API schema of its apiVersion and kind', async () => {
    const objects = manifests.filter((m) => m.doc.kind !== 'Kustomization');
    assert.ok(objects.length >= 8, `found ${objects.length} objects`);
    for (const { file, doc } of objects) {
      const key = `${doc.apiVersion}/${doc.kind}`;
      const Model = await model(key);
      try {
        new Model(doc).validate();
      } catch (error) {
        assert.fail(`${file} (${key}): ${(error as Error).message}`);
      }
    }
  });

  it('kustomization.yaml lists every manifest but the examples', () => {
    const kustomization = KustomizationSchema.parse(one('Kustomization').doc);
    const files = [...new Set(manifests.filter((m) => m.doc.kind !== 'Kustomization' && !m.file.startsWith('examples/')).map((m) => m.file))];
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
    for (const m of manifests) {
      if (m.doc.kind === 'Kustomization' || m.doc.kind === 'Namespace' || m.file.startsWith('examples/')) continue;
      assert.equal((m.doc.metadata as { namespace?: string }).namespace, 'mcp-gateway', `${m.file}: in the gateway's namespace`);
    }
  });

  it('the Deployment: 2+ replicas, /healthz and /readyz probes, resources, non-root, config and secret wired', () => {
    const deployment = DeploymentSchema.parse(one('Deployment').doc);
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    assert.ok(container);
    assert.ok(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels), 'selector matches the pod labels');
    const portNames = container.ports.map((p) => p.name);
    assert.ok(portNames.includes(String(container.livenessProbe.httpGet.port)), 'liveness probe on a declared port');
    assert.ok(portNames.includes(String(container.readinessProbe.httpGet.port)), 'readiness probe on a declared port');

    const configVolume = pod.volumes.find((v) => v.configMap?.name === ConfigMapSchema.parse(one('ConfigMap').doc).metadata.name);
    assert.ok(configVolume, 'the ConfigMap is mounted');
    const mount = container.volumeMounts.find((m) => m.name === configVolume.name);
    assert.ok(mount, 'and mounted in the container');
    const configArg = container.args[container.args.indexOf('--config') + 1];
    assert.equal(configArg, `${mount.mountPath}/gateway.yaml`, 'serve --config points at the mounted file');
    assert.equal(container.envFrom[0]?.secretRef.name, SecretSchema.parse(one('Secret').doc).metadata.name, 'the Secret feeds the environment');
    assert.ok(pod.volumes.some((v) => v.name === 'tmp') && container.volumeMounts.some((m) => m.mountPath === '/tmp'), 'a writable /tmp on a read-only root');
  });

  it('shutdown fits the grace period: preStop pause + server.drainSeconds < terminationGracePeriodSeconds', () => {
    const deployment = DeploymentSchema.parse(one('Deployment').doc);
    const pod = deployment.spec.template.spec;
    const pause = Number(pod.containers[0]?.lifecycle?.preStop.exec.command[1] ?? 0);
    const config = parseConfig(parseAllDocuments(ConfigMapSchema.parse(one('ConfigMap').doc).data['gateway.yaml'])[0]?.toJS());
    assert.ok(pause + config.server.drainSeconds < pod.terminationGracePeriodSeconds, `${pause} + ${config.server.drainSeconds} < ${pod.terminationGracePeriodSeconds}`);
  });

  it('the ConfigMap holds a config the gateway accepts (with the Secret\'s environment), binding all interfaces with auth', () => {
    const secret = SecretSchema.parse(one('Secret').doc);
    const raw: unknown = parseAllDocuments(ConfigMapSchema.parse(one('ConfigMap').doc).data['gateway.yaml'])[0]?.toJS();
    const config = parseConfig(raw, { ...secret.stringData, LOG_LEVEL: 'info' });
    assert.equal(config.server.host, '0.0.0.0');
    assert.ok(config.auth && (config.auth.apiKeys.length > 0 || config.auth.jwt), 'client auth is on');
    assert.ok(config.auth.apiKeys.every((k) => k.key.startsWith('sha256:')), 'only key digests in the ConfigMap');
    assert.equal(config.discovery.consul?.token, secret.stringData.CONSUL_HTTP_TOKEN, 'the Consul token comes from the Secret');
    assert.equal(config.rateLimit?.redis, secret.stringData.REDIS_URL, 'so does the Redis URL');
    assert.equal(config.discovery.consul?.register, false, 'catalog sync, not the pods, publishes the gateway in Consul');
  });

  it('the Secret holds placeholders only', () => {
    const secret = SecretSchema.parse(one('Secret').doc);
    assert.deepEqual(Object.keys(secret.stringData).sort(), ['CONSUL_HTTP_TOKEN', 'REDIS_URL']);
    for (const [key, value] of Object.entries(secret.stringData)) assert.match(value, /REPLACE_ME/, `${key} is a placeholder`);
    assert.equal((one('Secret').doc as { data?: unknown }).data, undefined, 'no base64 data either');
  });

  it('the Service selects the pods, targets the named port, keeps sessions on one pod and is synced to Consul as mcp-gateway', () => {
    const service = ServiceSchema.parse(one('Service').doc);
    const deployment = DeploymentSchema.parse(one('Deployment').doc);
    assert.ok(matches(service.spec.selector, deployment.spec.template.metadata.labels));
    const names = deployment.spec.template.spec.containers[0]!.ports.map((p) => p.name);
    for (const port of service.spec.ports) assert.ok(names.includes(String(port.targetPort)), `targetPort ${port.targetPort}`);
    assert.equal((service.spec as { sessionAffinity?: string }).sessionAffinity, 'ClientIP');
    const a = service.metadata.annotations;
    assert.equal(a['consul.hashicorp.com/service-sync'], 'true');
    assert.equal(a['consul.hashicorp.com/service-name'], 'mcp-gateway');
    assert.ok(!(a['consul.hashicorp.com/service-tags'] ?? '').split(',').includes('mcp'), 'never the backends\' tag');
  });

  it('the PodDisruptionBudget keeps one pod and the autoscaling/v2 HPA scales the Deployment from 2', () => {
    const deployment = DeploymentSchema.parse(one('Deployment').doc);
    const pdb = PdbSchema.parse(one('PodDisruptionBudget').doc);
    assert.ok(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels));
    assert.ok(pdb.spec.minAvailable < deployment.spec.replicas, 'a drain can still move one pod');
    const hpaManifest = one('HorizontalPodAutoscaler');
    assert.equal(hpaManifest.doc.apiVersion, 'autoscaling/v2');
    const hpa = HpaSchema.parse(hpaManifest.doc);
    assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert.ok(hpa.spec.minReplicas <= deployment.spec.replicas && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  });

  it('the example backend Service carries the gateway\'s convention as catalog-sync annotations', () => {
    const example = manifests.find((m) => m.file === 'examples/backend-service.yaml');
    assert.ok(example);
    const a = ServiceSchema.parse(example.doc).metadata.annotations;
    assert.equal(a['consul.hashicorp.com/service-sync'], 'true');
    assert.ok((a['consul.hashicorp.com/service-tags'] ?? '').split(',').includes('mcp'), 'tag mcp');
    assert.match(a['consul.hashicorp.com/service-meta-mcp_prefix'] ?? '', /^[a-z0-9][a-z0-9-]{0,31}$/);
    assert.equal(a['consul.hashicorp.com/service-meta-mcp_path'], '/mcp');
  });
});
