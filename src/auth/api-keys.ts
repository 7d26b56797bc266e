// API keys from the config, kept only as SHA-256 digests. A presented key is hashed and
// compared against every digest with timingSafeEqual, so neither timing nor an early exit
// tells how close a guess was.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.js';
import { toolScope } from './principal.js';

export interface ApiKeyEntry {
  id: string;
  key: string;
  tools?: string[] | undefined;
  admin: boolean;
  rateLimit?: { points: number; duration: number; blockDuration?: number | undefined } | undefined;
  toolSearch?: boolean | undefined;
}

interface StoredKey {
  digest: Buffer;
  principal: Principal;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A new random key and the config line that stores its hash (`mcp-gateway keygen`). */
export function generateKey(): { key: string; hash: string } {
  const key = `mgw_${randomBytes(24).toString('base64url')}`;
  return { key, hash: `sha256:${sha256(key).toString('hex')}` };
}

export class ApiKeyStore {
  private readonly keys: StoredKey[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.keys = entries.map((entry) => ({
      digest: entry.key.startsWith('sha256:') ? Buffer.from(entry.key.slice(7), 'hex') : sha256(entry.key),
      principal: Object.freeze({
        id: entry.id,
        tools: entry.tools ? toolScope(entry.tools) : undefined,
        admin: entry.admin,
        rateLimit: entry.rateLimit,
        toolSearch: entry.toolSearch,
      }),
    }));
  }

  get size(): number {
    return this.keys.length;
  }

  /** The principal owning `presented`, or undefined. Looks at every key whatever happens. */
  verify(presented: string): Principal | undefined {
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const stored of this.keys) {
      if (timingSafeEqual(stored.digest, digest) && !found) found = stored.principal;
    }
    return found;
  }
}
