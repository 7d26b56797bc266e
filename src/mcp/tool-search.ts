// Tool search for large catalogs (the tutorial's "too many tools confuse the model"): a
// session in search mode sees three gateway tools instead of thousands — search the catalog
// by words (MiniSearch over names and descriptions), describe one tool's schema, call a tool
// by its exposed name. The index is built per catalog version and principal scope.
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import MiniSearch from 'minisearch';
import type { Principal } from '../auth/principal.js';
import type { CatalogStore } from '../catalog/store.js';

export const SEARCH_TOOL = 'gateway__search_tools';
export const DESCRIBE_TOOL = 'gateway__describe_tool';
export const CALL_TOOL = 'gateway__call_tool';

export const SEARCH_TOOLS: readonly Tool[] = Object.freeze<Tool[]>([
  {
    name: SEARCH_TOOL,
    description: 'Search the tools of every backend behind this gateway by words (names and descriptions). Returns the best matches with their names and descriptions; use describe_tool for a schema and call_tool to run one.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'Words describing what you want to do, e.g. "inventory laptop stock"' },
        limit: { type: 'integer', minimum: 1, maximum: 50, description: 'How many results (default 10)' },
      },
      required: ['query'],
    },
    annotations: { readOnlyHint: true },
  },
  {
    name: DESCRIBE_TOOL,
    description: 'The full definition (description and input schema) of one tool, by the name search_tools returned.',
    inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    annotations: { readOnlyHint: true },
  },
  {
    name: CALL_TOOL,
    description: 'Call a tool by the name search_tools returned, with its arguments.',
    inputSchema: {
      type: 'object',
      properties: { name: { type: 'string' }, arguments: { type: 'object', additionalProperties: true } },
      required: ['name'],
    },
  },
]);

interface Index {
  version: number;
  search: MiniSearch<{ id: string; name: string; words: string; description: string }>;
}

export class ToolSearch {
  private readonly indexes = new Map<string, Index>();

  constructor(private readonly catalog: CatalogStore, private readonly defaultLimit = 10) {}

  private index(principal: Principal): Index {
    const catalog = this.catalog.catalog;
    const key = principal.tools?.key ?? '*';
    const cached = this.indexes.get(key);
    if (cached?.version === catalog.version) return cached;
    const search = new MiniSearch<{ id: string; name: string; words: string; description: string }>({
      fields: ['words', 'description'],
      storeFields: ['name', 'description'],
      searchOptions: { boost: { words: 2 }, prefix: true, fuzzy: 0.2, combineWith: 'OR' },
    });
    const tools = catalog.tools.filter((t) => principal.tools?.allows(t.name) ?? true);
    search.addAll(tools.map((t) => ({
      id: t.name,
      name: t.name,
      // Split names into words: ops__lookup_inventory -> ops lookup inventory.
      words: t.name.replace(/[_\-.]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2'),
      description: `${t.title ?? ''} ${t.description ?? ''}`,
    })));
    const index = { version: catalog.version, search };
    if (this.indexes.size > 100) this.indexes.clear();
    this.indexes.set(key, index);
    return index;
  }

  isSearchTool(name: string): boolean {
    return name === SEARCH_TOOL || name === DESCRIBE_TOOL;
  }

  /** search_tools and describe_tool; call_tool is routed by the caller like any call. */
  run(name: string, args: Record<string, unknown>, principal: Principal): CallToolResult {
    if (name === SEARCH_TOOL) {
      const query = typeof args.query === 'string' ? args.query : '';
      if (!query.trim()) throw new McpError(ErrorCode.InvalidParams, 'search_tools needs a query');
      const limit = Math.min(50, Math.max(1, Number.isInteger(args.limit) ? (args.limit as number) : this.defaultLimit));
      const hits = this.index(principal).search.search(query).slice(0, limit);
      const results = hits.map((h) => ({ name: h.id as string, description: (h.description as string).trim(), score: Math.round(h.score * 100) / 100 }));
      const text = results.length
        ? results.map((r) => `${r.name}: ${r.description}`).join('\n')
        : `No tool matches "${query}".`;
      return { content: [{ type: 'text', text }], structuredContent: { results } };
    }
    const wanted = typeof args.name === 'string' ? args.name : '';
    const route = this.catalog.catalog.routes.get(wanted);
    if (!route || !(principal.tools?.allows(wanted) ?? true)) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${wanted}`);
    const { _meta: _ignored, ...tool } = route.tool;
    return { content: [{ type: 'text', text: JSON.stringify(tool, null, 2) }], structuredContent: { tool } };
  }
}
