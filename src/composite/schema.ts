// The `composite` config section: tools the gateway runs itself by chaining exposed tools.
// Shape is checked by zod; the rest (step graph, expressions, template, input schema) by
// compiling each tool into its plan, so a config that loads is a config that runs.
import { z } from 'zod';
import { PrefixSchema } from '../config/prefix.js';
import { compileTool } from './plan.js';

/** Tool and step names: what MCP accepts in a tool name; step ids are also JSONata/Handlebars identifiers. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const seconds = z.number().positive().max(3600);

/** A JSON Schema for the tool's arguments; MCP requires an object schema. */
export const CompositeInputSchema = z.object({
  type: z.literal('object'),
  properties: z.record(z.string(), z.looseObject({})).optional(),
  required: z.array(z.string()).optional(),
}).catchall(z.unknown());

export const CompositeStepSchema = z.object({
  /** Referenced as `steps.<id>` in expressions and the output template. */
  id: z.string().regex(STEP_ID, 'must be an identifier: ^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
  /** An exposed tool name, e.g. ops__lookup_inventory. */
  tool: z.string().min(1),
  /** Strings starting with "=" are JSONata over {input, steps}; "==" escapes a literal "="; the rest are literals. */
  arguments: z.record(z.string(), z.unknown()).default({}),
  /** Steps that must finish first, besides those inferred from `steps.<id>` references. */
  needs: z.array(z.string()).default([]),
  /** A failure is reported in the output (and to dependents) instead of failing the tool. */
  optional: z.boolean().default(false),
  /** Aborts the step's call; counts as a failure. Default: the tool's timeoutSeconds. */
  timeoutSeconds: seconds.optional(),
  /** JSONata over {input, steps}: the step runs only when this is truthy (else it is skipped). */
  when: z.string().min(1).optional(),
}).strict();

export const CompositeToolSchema = z.object({
  name: z.string().regex(TOOL_NAME, 'must match ^[A-Za-z0-9_-]{1,64}$'),
  title: z.string().optional(),
  description: z.string().min(1),
  inputSchema: CompositeInputSchema.default({ type: 'object', properties: {} }),
  /** Default per-step timeout. */
  timeoutSeconds: seconds.optional(),
  steps: z.array(CompositeStepSchema).min(1),
  /** Handlebars over {input, steps}; without it, each step's text under its id. */
  output: z.string().optional(),
}).strict();

export const CompositeConfigSchema = z.object({
  /** Composite tools are exposed as <prefix><separator><name>. */
  prefix: PrefixSchema.default('flow'),
  tools: z.array(CompositeToolSchema).default([]),
}).strict().superRefine((composite, ctx) => {
  const seen = new Set<string>();
  composite.tools.forEach((tool, index) => {
    if (seen.has(tool.name)) ctx.addIssue({ code: 'custom', path: ['tools', index, 'name'], message: `duplicate tool name "${tool.name}"` });
    seen.add(tool.name);
    for (const issue of compileTool(tool).issues) {
      ctx.addIssue({ code: 'custom', path: ['tools', index, ...issue.path], message: issue.message });
    }
  });
});

export type CompositeConfig = z.infer<typeof CompositeConfigSchema>;
export type CompositeConfigInput = z.input<typeof CompositeConfigSchema>;
export type CompositeToolConfig = z.infer<typeof CompositeToolSchema>;
export type CompositeStepConfig = z.infer<typeof CompositeStepSchema>;
