// A composite tool compiled for running: its input validator, its steps with compiled
// bindings and their dependencies (explicit and inferred), its output template. Compiling
// is also how config is validated: every problem is an issue naming its path in the tool.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { compileBinding, compileExpression, expressionsOf, type Binding, type Expression, type Issue } from './binding.js';
import { compileTemplate, DEFAULT_OUTPUT, type Render } from './template.js';
import type { CompositeToolConfig } from './schema.js';

export interface StepPlan {
  id: string;
  tool: string;
  optional: boolean;
  timeoutMs: number | undefined;
  /** Explicit `needs` and the steps its expressions read. */
  needs: string[];
  when: Expression | undefined;
  arguments: Binding;
}

export interface ToolPlan {
  name: string;
  title: string | undefined;
  description: string;
  inputSchema: Tool['inputSchema'];
  /** A copy of the arguments with schema defaults filled in, or why they do not fit. */
  checkInput(args: unknown): { input: Record<string, unknown> } | { error: string };
  /** In config order; `needs` holds no cycle. */
  steps: StepPlan[];
  render: Render;
}

// ajv-formats is CommonJS: the default import is module.exports, the plugin sits on `.default`.
const addFormats = addFormatsModule.default;

/** Caller-supplied arguments are checked with every error reported and schema defaults applied. */
const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
addFormats(ajv);

/** A cycle through `needs`, as the ids along it (first repeated last), or undefined. */
function findCycle(ids: string[], needs: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, 'open');
    trail.push(id);
    for (const dep of needs.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

function checkInput(validate: ValidateFunction, args: unknown): { input: Record<string, unknown> } | { error: string } {
  const input = args === undefined || args === null ? {} : args;
  if (typeof input !== 'object' || Array.isArray(input)) return { error: 'arguments must be an object' };
  const copy = structuredClone(input) as Record<string, unknown>;
  if (validate(copy)) return { input: copy };
  return { error: ajv.errorsText(validate.errors, { dataVar: 'arguments' }) };
}

/** Compiles one tool; `plan` is set only when there are no issues. Paths are relative to the tool. */
export function compileTool(tool: CompositeToolConfig): { plan: ToolPlan | undefined; issues: Issue[] } {
  const issues: Issue[] = [];
  let validate: ValidateFunction | undefined;
  // A top-level $id would clash when the same config is compiled twice (validation, then the
  // engine); the compiled function is dropped from ajv's cache, which would grow with reloads.
  const { $id: _id, ...schema } = tool.inputSchema;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    issues.push({ path: ['inputSchema'], message: `not a valid JSON Schema: ${(error as Error).message}` });
  } finally {
    ajv.removeSchema(schema);
  }

  const ids = new Set<string>();
  tool.steps.forEach((step, index) => {
    if (ids.has(step.id)) issues.push({ path: ['steps', index, 'id'], message: `duplicate step id "${step.id}"` });
    ids.add(step.id);
  });

  const steps = tool.steps.map((step, index): StepPlan => {
    const at = ['steps', index];
    const bindings = compileBinding(step.arguments, [...at, 'arguments'], issues);
    const when = step.when === undefined ? undefined : compileExpression(step.when.replace(/^=/, ''), [...at, 'when'], issues);
    const needs = new Set<string>();
    step.needs.forEach((dep, i) => {
      if (!ids.has(dep)) issues.push({ path: [...at, 'needs', i], message: `needs unknown step "${dep}"` });
      needs.add(dep);
    });
    for (const expression of [...expressionsOf(bindings), ...(when ? [when] : [])]) {
      const where = expression.where.split('.').slice(at.length);
      for (const dep of expression.reads) {
        if (!ids.has(dep)) issues.push({ path: [...at, ...where], message: `reads steps.${dep}, but the tool has no step "${dep}"` });
        needs.add(dep);
      }
      if (expression.dynamic && step.needs.length === 0) {
        issues.push({
          path: [...at, ...where],
          message: 'reads `steps` without naming a step (steps.<id>), so the order cannot be inferred: list the steps it reads in `needs`',
        });
      }
    }
    const seconds = step.timeoutSeconds ?? tool.timeoutSeconds;
    return {
      id: step.id,
      tool: step.tool,
      optional: step.optional,
      timeoutMs: seconds === undefined ? undefined : seconds * 1000,
      needs: [...needs].filter((dep) => ids.has(dep)),
      when,
      arguments: bindings,
    };
  });

  const cycle = findCycle(steps.map((step) => step.id), new Map(steps.map((step) => [step.id, step.needs])));
  if (cycle) issues.push({ path: ['steps'], message: `steps depend on each other in a cycle: ${cycle.join(' → ')}` });

  const render = compileTemplate(tool.output ?? DEFAULT_OUTPUT, ids, ['output'], issues);

  if (issues.length > 0 || !validate || !render) return { plan: undefined, issues };
  const validateInput = validate;
  return {
    plan: {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      checkInput: (args) => checkInput(validateInput, args),
      steps,
      render,
    },
    issues,
  };
}
