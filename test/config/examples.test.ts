// The example files shipped in deploy/ stay valid as the schema evolves.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ServiceEntrySchema } from '../../src/discovery/consul/payloads.js';

describe('deploy examples', () => {
  it('deploy/gateway.example.yaml is a valid config', async () => {
    const config = await loadConfig('deploy/gateway.example.yaml', {});
    assert.equal(config.discovery.consul?.tag, 'mcp');
    assert.ok(config.auth?.jwt && config.auth.apiKeys.length === 2);
  });

  it('deploy/consul/backend-service.json follows the registration convention', async () => {
    const { service } = JSON.parse(await readFile('deploy/consul/backend-service.json', 'utf8')) as { service: { tags: string[]; meta: Record<string, string>; port: number; id: string; name: string; address: string } };
    assert.ok(service.tags.includes('mcp'));
    assert.match(service.meta.mcp_prefix!, /^[a-z0-9][a-z0-9-]{0,31}$/);
    ServiceEntrySchema.parse({
      Node: { Node: 'n', Address: '10.0.0.1' },
      Service: { ID: service.id, Service: service.name, Tags: service.tags, Address: service.address, Port: service.port, Meta: service.meta },
      Checks: [],
    });
  });
});
