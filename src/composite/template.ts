// The output template of a composite tool: Handlebars over {input, steps}, rendered as plain
// text (no HTML escaping), with three helpers: `eq` to compare, `number` to group digits
// (ko-KR), `json` for raw values.
// At load the template is compiled, and references to steps the tool does not have are errors.
import Handlebars from 'handlebars';
import type { Issue, Scope } from './binding.js';

const handlebars = Handlebars.create();
handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
handlebars.registerHelper('number', (value: unknown) => (typeof value === 'number' ? value.toLocaleString('ko-KR') : value));
handlebars.registerHelper('json', (value: unknown) => JSON.stringify(value, null, 2));

const OPTIONS = { noEscape: true } as const;

/** Used when a tool has no `output`: each step's text (or what went wrong) under its id. */
export const DEFAULT_OUTPUT = [
  '{{#each steps}}',
  '[{{@key}}] {{#if skipped}}(skipped){{else if error}}error: {{error}}{{else}}{{text}}{{/if}}',
  '{{/each}}',
].join('\n');

export type Render = (scope: Scope) => string;

type AstNode = Record<string, unknown>;

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null;
}

/** Helpers that keep the context; inside any other block (`each`, `with`) paths are relative. */
const SAME_CONTEXT = new Set(['if', 'unless']);

/** `steps.<id>` paths in the root context (and `@root.steps.<id>` anywhere). */
function stepReads(node: unknown, rootContext: boolean, reads: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (const child of node) stepReads(child, rootContext, reads);
    return;
  }
  if (!isNode(node)) return;
  if (node.type === 'PathExpression' && Array.isArray(node.parts)) {
    const parts = node.parts as string[];
    const rooted = node.data === true && parts[0] === 'root' ? parts.slice(1) : rootContext && node.data !== true && node.depth === 0 ? parts : [];
    if (rooted[0] === 'steps' && rooted[1] !== undefined) reads.set(rooted[1], String(node.original));
    return;
  }
  if (node.type === 'BlockStatement') {
    const helper = isNode(node.path) && Array.isArray(node.path.parts) ? (node.path.parts as string[]).join('.') : '';
    stepReads([node.path, node.params, node.hash], rootContext, reads);
    const inner = rootContext && SAME_CONTEXT.has(helper);
    stepReads(node.program, inner, reads);
    stepReads(node.inverse, rootContext && (SAME_CONTEXT.has(helper) || helper === 'each' || helper === 'with'), reads);
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    if (key !== 'loc' && key !== 'strip' && key !== 'openStrip' && key !== 'closeStrip' && key !== 'inverseStrip') stepReads(child, rootContext, reads);
  }
}

/** Compiles a template; syntax errors and unknown step references become issues at `path`. */
export function compileTemplate(source: string, stepIds: ReadonlySet<string>, path: (string | number)[], issues: Issue[]): Render | undefined {
  let ast: hbs.AST.Program;
  try {
    ast = handlebars.parse(source);
    handlebars.precompile(source, OPTIONS);
  } catch (error) {
    issues.push({ path, message: `bad template: ${(error as Error).message.replace(/\s+/g, ' ').trim()}` });
    return undefined;
  }
  const reads = new Map<string, string>();
  stepReads(ast, true, reads);
  let ok = true;
  for (const [id, original] of reads) {
    if (!stepIds.has(id)) {
      issues.push({ path, message: `template reads "${original}", but the tool has no step "${id}"` });
      ok = false;
    }
  }
  if (!ok) return undefined;
  const template = handlebars.compile<Scope>(source, OPTIONS);
  return (scope) => template(scope);
}
