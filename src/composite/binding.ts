// Argument bindings of a composite step: a config value walked once at load, in which every
// string starting with "=" is a JSONata expression over {input, steps}. The walk also finds
// which steps each expression reads (`steps.<id>`), so the engine can order the steps.
import jsonata from 'jsonata';

export interface Issue {
  path: (string | number)[];
  message: string;
}

export type Binding =
  | { kind: 'literal'; value: unknown }
  | { kind: 'expression'; expression: Expression }
  | { kind: 'object'; entries: [string, Binding][] }
  | { kind: 'array'; items: Binding[] };

export interface Expression {
  /** Where it sits in the tool config, for messages: `steps.2.arguments.department`. */
  where: string;
  compiled: jsonata.Expression;
  /** Step ids read as `steps.<id>`. */
  reads: Set<string>;
  /** Reads `steps` in a way no static walk can name (`$lookup(steps, x)`, `steps.*`). */
  dynamic: boolean;
}

/** What expressions and the output template see. */
export interface Scope {
  input: Record<string, unknown>;
  steps: Record<string, unknown>;
}

type AstNode = Record<string, unknown>;

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null;
}

function isName(node: unknown, value?: string): node is AstNode & { value: string } {
  return isNode(node) && node.type === 'name' && typeof node.value === 'string' && (value === undefined || node.value === value);
}

/** Collects `steps.<id>` reads from a JSONata AST; `$.steps` and `$$.steps` count too. */
function collectReads(node: unknown, reads: Set<string>): boolean {
  if (Array.isArray(node)) return node.reduce<boolean>((dynamic, child) => collectReads(child, reads) || dynamic, false);
  if (!isNode(node)) return false;
  let dynamic = false;
  if (node.type === 'path' && Array.isArray(node.steps)) {
    const path = node.steps as unknown[];
    let first = 0;
    while (isNode(path[first]) && (path[first] as AstNode).type === 'variable' && ['', '$'].includes(String((path[first] as AstNode).value))) first++;
    const head = path[first];
    if (isName(head, 'steps')) {
      const next = path[first + 1];
      if (isName(next) && head.stages === undefined && head.predicate === undefined) reads.add(next.value);
      else dynamic = true;
    }
  }
  for (const [key, child] of Object.entries(node)) {
    if (key !== 'type' && key !== 'value' && key !== 'position') dynamic = collectReads(child, reads) || dynamic;
  }
  return dynamic;
}

/** Compiles one JSONata source; a syntax error becomes an issue at `path`. */
export function compileExpression(source: string, path: (string | number)[], issues: Issue[]): Expression | undefined {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source);
  } catch (error) {
    const { message, position } = error as { message: string; position?: number };
    issues.push({ path, message: `bad expression "${source}": ${message}${position === undefined ? '' : ` (at ${position})`}` });
    return undefined;
  }
  const reads = new Set<string>();
  const dynamic = collectReads(compiled.ast(), reads);
  return { where: path.join('.'), compiled, reads, dynamic };
}

/** Walks a config value into a Binding; issues for bad expressions are pushed with their path. */
export function compileBinding(value: unknown, path: (string | number)[], issues: Issue[]): Binding {
  if (typeof value === 'string' && value.startsWith('=')) {
    if (value.startsWith('==')) return { kind: 'literal', value: value.slice(1) };
    const expression = compileExpression(value.slice(1), path, issues);
    return expression ? { kind: 'expression', expression } : { kind: 'literal', value: undefined };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map((item, i) => compileBinding(item, [...path, i], issues)) };
  if (isNode(value)) {
    return { kind: 'object', entries: Object.entries(value).map(([key, child]) => [key, compileBinding(child, [...path, key], issues)]) };
  }
  return { kind: 'literal', value };
}

/** Every expression in a binding. */
export function expressionsOf(binding: Binding): Expression[] {
  switch (binding.kind) {
    case 'literal':
      return [];
    case 'expression':
      return [binding.expression];
    case 'object':
      return binding.entries.flatMap(([, child]) => expressionsOf(child));
    case 'array':
      return binding.items.flatMap(expressionsOf);
  }
}

export class BindingError extends Error {
  override readonly name = 'BindingError';
}

export async function evaluateExpression(expression: Expression, scope: Scope): Promise<unknown> {
  try {
    return await expression.compiled.evaluate(scope);
  } catch (error) {
    throw new BindingError(`${expression.where}: ${(error as Error).message}`);
  }
}

/** The value of a binding; an expression without a result (undefined) leaves its key out. */
export async function evaluateBinding(binding: Binding, scope: Scope): Promise<unknown> {
  switch (binding.kind) {
    case 'literal':
      return binding.value;
    case 'expression':
      return evaluateExpression(binding.expression, scope);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, child] of binding.entries) {
        const value = await evaluateBinding(child, scope);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case 'array':
      return Promise.all(binding.items.map((item) => evaluateBinding(item, scope)));
  }
}
