// The catalog: every routed tool, prompt, resource and resource template under its exposed
// name, built purely from the backends' own lists and the curation config. Rebuilt whole
// and swapped atomically (as Fabio does its route table); a version counter and content
// keys per kind let sessions tell whether anything they see changed.
import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { createHash } from 'node:crypto';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import picomatch from 'picomatch';
import { assignNames, type NamingOptions } from './naming.js';

/** Where the original name lives in an exposed item's `_meta`. */
export const META_KEY = 'io.github.mcp-gateway/origin';

export interface ToolRoute {
  readonly exposed: string;
  readonly prefix: string;
  /** The name the backend knows. */
  readonly original: string;
  /** The tool as clients see it: exposed name, origin in `_meta`. */
  readonly tool: Tool;
}

export interface PromptRoute {
  readonly exposed: string;
  readonly prefix: string;
  readonly original: string;
  readonly prompt: Prompt;
}

export interface ResourceRoute {
  readonly exposed: string;
  readonly prefix: string;
  readonly original: string;
}

export interface BackendLists {
  readonly prefix: string;
  readonly tools: readonly Tool[];
  readonly prompts?: readonly Prompt[];
  readonly resources?: readonly Resource[];
  readonly templates?: readonly ResourceTemplate[];
}

export interface Curation {
  /** Globs over the backend's own tool names: matching tools are not exposed. */
  hide?: readonly string[] | undefined;
  /** Backend name -> the name to expose instead (before the prefix). */
  rename?: Readonly<Record<string, string>> | undefined;
  /** Backend name -> description shown to clients. */
  descriptions?: Readonly<Record<string, string>> | undefined;
}

export interface Catalog {
  readonly version: number;
  readonly routes: ReadonlyMap<string, ToolRoute>;
  /** Sorted by exposed name. */
  readonly tools: readonly Tool[];
  /** Identity of the tool list, for cheap change checks. */
  readonly key: string;
  readonly promptRoutes: ReadonlyMap<string, PromptRoute>;
  readonly prompts: readonly Prompt[];
  readonly resourceRoutes: ReadonlyMap<string, ResourceRoute>;
  readonly resources: readonly Resource[];
  readonly templates: readonly ResourceTemplate[];
  /** Backend templates, for routing reads of URIs that no list names (prefix mode never). */
  readonly templateRoutes: readonly { readonly prefix: string; readonly template: UriTemplate }[];
  /** Content keys of the other lists. */
  readonly keys: { readonly prompts: string; readonly resources: string };
  readonly collisions: readonly string[];
  /** Backend prefixes present, for resource URIs outside the lists (templates). */
  readonly prefixes: ReadonlySet<string>;
  readonly naming: NamingOptions;
  /** Content hash of each backend's lists, for cheap per-view change keys. */
  readonly backendKeys: ReadonlyMap<string, string>;
}

/** Content hashes of lists, cached per list object: backends hand over the same arrays until they change. */
const listHashes = new WeakMap<object, string>();

export function listHash(list: readonly unknown[] | undefined): string {
  if (!list || list.length === 0) return '-';
  let hash = listHashes.get(list);
  if (hash === undefined) {
    hash = createHash('sha1').update(JSON.stringify(list)).digest('base64url');
    listHashes.set(list, hash);
  }
  return hash;
}

const DEFAULT_NAMING: NamingOptions = { separator: '__', maxLength: 64, prefix: 'always' };

export const EMPTY_CATALOG: Catalog = Object.freeze({
  version: 0,
  routes: new Map(),
  tools: Object.freeze([]),
  key: '',
  promptRoutes: new Map(),
  prompts: Object.freeze([]),
  resourceRoutes: new Map(),
  resources: Object.freeze([]),
  templates: Object.freeze([]),
  templateRoutes: Object.freeze([]),
  keys: { prompts: '', resources: '' },
  collisions: Object.freeze([]),
  prefixes: new Set<string>(),
  naming: DEFAULT_NAMING,
  backendKeys: new Map<string, string>(),
});

/** Resource URIs are namespaced by prefixing the scheme: `file:///a` of `ops` is `ops+file:///a`. */
export function exposeUri(prefix: string, uri: string, naming: NamingOptions): string {
  return naming.prefix === 'never' ? uri : `${prefix}+${uri}`;
}

/** Which backend serves `uri`, and under what URI it knows it. */
export function resolveUri(catalog: Catalog, uri: string): { prefix: string; original: string } | undefined {
  const route = catalog.resourceRoutes.get(uri);
  if (route) return { prefix: route.prefix, original: route.original };
  if (catalog.naming.prefix !== 'never') return parseExposedUri(uri, catalog.prefixes);
  const match = catalog.templateRoutes.find((t) => t.template.match(uri) !== null);
  if (match) return { prefix: match.prefix, original: uri };
  const parsed = parseExposedUri(uri, catalog.prefixes);
  if (parsed) return parsed;
  return catalog.prefixes.size === 1 ? { prefix: [...catalog.prefixes][0]!, original: uri } : undefined;
}

/** The inverse of exposeUri for URIs that name a known backend; undefined otherwise. */
export function parseExposedUri(uri: string, prefixes: ReadonlySet<string>): { prefix: string; original: string } | undefined {
  const plus = uri.indexOf('+');
  const colon = uri.indexOf(':');
  if (plus <= 0 || (colon !== -1 && colon < plus)) return undefined;
  const prefix = uri.slice(0, plus);
  return prefixes.has(prefix) ? { prefix, original: uri.slice(plus + 1) } : undefined;
}

interface Named<T> {
  prefix: string;
  original: string;
  upstream: string;
  item: T;
}

function withOrigin<T extends { _meta?: Record<string, unknown> | undefined }>(item: T, prefix: string, name: string): T['_meta'] {
  return { ...(item._meta ?? {}), [META_KEY]: { backend: prefix, name } };
}

export function buildCatalog(
  backends: readonly BackendLists[],
  naming: NamingOptions,
  version: number,
  curation: Readonly<Record<string, Curation>> = {},
): Catalog {
  const collisions: string[] = [];

  const toolItems: Named<Tool>[] = [];
  for (const backend of backends) {
    const rules = curation[backend.prefix];
    const hidden = rules?.hide?.length ? picomatch([...rules.hide]) : undefined;
    for (const tool of backend.tools) {
      if (hidden?.(tool.name)) continue;
      const shown = rules?.rename?.[tool.name] ?? tool.name;
      const description = rules?.descriptions?.[tool.name];
      toolItems.push({ prefix: backend.prefix, original: shown, upstream: tool.name, item: description === undefined ? tool : { ...tool, description } });
    }
  }
  const toolNames = assignNames(toolItems, naming);
  collisions.push(...toolNames.collisions);
  const routes = new Map<string, ToolRoute>();
  const tools: Tool[] = [];
  for (const exposed of [...toolNames.names.keys()].sort()) {
    const named = toolNames.names.get(exposed)!;
    const tool: Tool = Object.freeze({ ...named.item, name: exposed, _meta: withOrigin(named.item, named.prefix, named.upstream) });
    routes.set(exposed, Object.freeze({ exposed, prefix: named.prefix, original: named.upstream, tool }));
    tools.push(tool);
  }

  const promptItems: Named<Prompt>[] = backends.flatMap((b) => (b.prompts ?? []).map((p) => ({ prefix: b.prefix, original: p.name, upstream: p.name, item: p })));
  const promptNames = assignNames(promptItems, naming);
  collisions.push(...promptNames.collisions.map((c) => `prompt ${c}`));
  const promptRoutes = new Map<string, PromptRoute>();
  const prompts: Prompt[] = [];
  for (const exposed of [...promptNames.names.keys()].sort()) {
    const named = promptNames.names.get(exposed)!;
    const prompt: Prompt = Object.freeze({ ...named.item, name: exposed, _meta: withOrigin(named.item, named.prefix, named.upstream) });
    promptRoutes.set(exposed, Object.freeze({ exposed, prefix: named.prefix, original: named.upstream, prompt }));
    prompts.push(prompt);
  }

  const resourceRoutes = new Map<string, ResourceRoute>();
  const resources: Resource[] = [];
  const sortedBackends = [...backends].sort((a, b) => a.prefix.localeCompare(b.prefix));
  for (const backend of sortedBackends) {
    for (const resource of backend.resources ?? []) {
      let exposed = exposeUri(backend.prefix, resource.uri, naming);
      if (resourceRoutes.has(exposed)) {
        const taken = exposed;
        exposed = `${backend.prefix}+${resource.uri}`;
        if (resourceRoutes.has(exposed)) continue;
        collisions.push(`resource "${taken}" is taken; "${resource.uri}" of "${backend.prefix}" is exposed as "${exposed}"`);
      }
      resourceRoutes.set(exposed, Object.freeze({ exposed, prefix: backend.prefix, original: resource.uri }));
      resources.push(Object.freeze({ ...resource, uri: exposed, _meta: withOrigin(resource, backend.prefix, resource.uri) }));
    }
  }
  resources.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  const templates: ResourceTemplate[] = [];
  const templateRoutes: { prefix: string; template: UriTemplate }[] = [];
  for (const backend of sortedBackends) {
    for (const template of backend.templates ?? []) {
      templates.push(Object.freeze({ ...template, uriTemplate: exposeUri(backend.prefix, template.uriTemplate, naming), _meta: withOrigin(template, backend.prefix, template.uriTemplate) }));
      try {
        templateRoutes.push({ prefix: backend.prefix, template: new UriTemplate(template.uriTemplate) });
      } catch {
        collisions.push(`resource template "${template.uriTemplate}" of "${backend.prefix}" is not a valid URI template; reads are routed by prefix only`);
      }
    }
  }

  // Keys derive from the inputs (the lists and the curation): same inputs, same catalog.
  const curationKey = JSON.stringify(curation);
  const backendKeys = new Map<string, string>();
  for (const b of sortedBackends) {
    backendKeys.set(b.prefix, `${listHash(b.tools)}.${listHash(b.prompts)}.${listHash(b.resources)}.${listHash(b.templates)}`);
  }
  const keyOf = (pick: (b: BackendLists) => readonly unknown[] | undefined): string =>
    createHash('sha1').update(curationKey).update(sortedBackends.map((b) => `${b.prefix}:${listHash(pick(b))}`).join('|')).digest('base64url');
  return Object.freeze({
    version,
    routes,
    tools: Object.freeze(tools),
    key: keyOf((b) => b.tools),
    promptRoutes,
    prompts: Object.freeze(prompts),
    resourceRoutes,
    resources: Object.freeze(resources),
    templates: Object.freeze(templates),
    templateRoutes: Object.freeze(templateRoutes),
    keys: { prompts: keyOf((b) => b.prompts), resources: `${keyOf((b) => b.resources)}.${keyOf((b) => b.templates)}` },
    collisions: Object.freeze(collisions),
    prefixes: new Set(backends.map((b) => b.prefix)),
    naming,
    backendKeys,
  });
}
