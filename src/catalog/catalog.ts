// The catalog: every routed tool under its exposed name, built purely from the backends'
// own lists. Rebuilt whole and swapped atomically (as Fabio does its route table); a
// version counter and a content key let sessions tell whether anything they see changed.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { assignNames, type NamingOptions } from './naming.js';

/** Where the original name lives in an exposed tool's `_meta`. */
export const META_KEY = 'io.github.mcp-gateway/origin';

export interface ToolRoute {
  readonly exposed: string;
  readonly prefix: string;
  readonly original: string;
  /** The tool as clients see it: exposed name, origin in `_meta`. */
  readonly tool: Tool;
}

export interface BackendTools {
  readonly prefix: string;
  readonly tools: readonly Tool[];
}

export interface Catalog {
  readonly version: number;
  readonly routes: ReadonlyMap<string, ToolRoute>;
  /** Sorted by exposed name. */
  readonly tools: readonly Tool[];
  /** Identity of the content, for cheap change checks. */
  readonly key: string;
  readonly collisions: readonly string[];
}

export const EMPTY_CATALOG: Catalog = Object.freeze({
  version: 0,
  routes: new Map(),
  tools: Object.freeze([]),
  key: '',
  collisions: Object.freeze([]),
});

interface Item {
  prefix: string;
  original: string;
  tool: Tool;
}

export function buildCatalog(backends: readonly BackendTools[], options: NamingOptions, version: number): Catalog {
  const items: Item[] = [];
  for (const backend of backends) {
    for (const tool of backend.tools) items.push({ prefix: backend.prefix, original: tool.name, tool });
  }
  const { names, collisions } = assignNames(items, options);
  const routes = new Map<string, ToolRoute>();
  const exposedNames = [...names.keys()].sort();
  const tools: Tool[] = [];
  for (const exposed of exposedNames) {
    const item = names.get(exposed)!;
    const tool: Tool = Object.freeze({
      ...item.tool,
      name: exposed,
      _meta: { ...(item.tool._meta ?? {}), [META_KEY]: { backend: item.prefix, name: item.original } },
    });
    routes.set(exposed, Object.freeze({ exposed, prefix: item.prefix, original: item.original, tool }));
    tools.push(tool);
  }
  return Object.freeze({
    version,
    routes,
    tools: Object.freeze(tools),
    key: JSON.stringify(tools),
    collisions: Object.freeze(collisions),
  });
}
