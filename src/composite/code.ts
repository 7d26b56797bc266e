// Composite tools written in TypeScript, for logic a step list cannot say (loops, branching
// on results, retries). The input is a zod object, checked before `run`; `requires` names the
// exposed tools it may call, which is what auth and availability are decided on.
import { z } from 'zod';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';

export interface CompositeRunContext {
  /**
   * Calls an exposed tool listed in `requires`. Resolves with its result, isError or not;
   * rejects when the call throws, times out or the tool is not in `requires`.
   */
  call: (tool: string, args?: Record<string, unknown>, opts?: { stepId?: string; timeoutSeconds?: number }) => Promise<CallToolResult>;
  /** Aborted when the caller cancels. */
  signal: AbortSignal;
}

export interface CompositeToolDefinition {
  readonly name: string;
  readonly title: string | undefined;
  readonly description: string;
  readonly inputSchema: Tool['inputSchema'];
  readonly requires: readonly string[];
  /** The checked input for `run`; McpError InvalidParams when `args` do not fit. */
  parseInput: (args: unknown) => unknown;
  run: (input: unknown, ctx: CompositeRunContext) => Promise<CallToolResult>;
}

export interface CompositeToolSpec<S extends z.ZodObject> {
  name: string;
  title?: string;
  description: string;
  inputSchema: S;
  requires: readonly string[];
  run: (input: z.output<S>, ctx: CompositeRunContext) => Promise<CallToolResult>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function defineCompositeTool<S extends z.ZodObject>(spec: CompositeToolSpec<S>): CompositeToolDefinition {
  if (!NAME.test(spec.name)) throw new Error(`composite tool name "${spec.name}" must match ${String(NAME)}`);
  const inputSchema = z.toJSONSchema(spec.inputSchema, { io: 'input' }) as Record<string, unknown>;
  delete inputSchema.$schema;
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    inputSchema: { ...inputSchema, type: 'object' },
    requires: [...new Set(spec.requires)],
    parseInput(args) {
      const parsed = spec.inputSchema.safeParse(args ?? {});
      if (!parsed.success) {
        throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for composite tool ${spec.name}: ${z.prettifyError(parsed.error)}`);
      }
      return parsed.data;
    },
    // Only ever called with what parseInput returned.
    run: (input, ctx) => spec.run(input as z.output<S>, ctx),
  };
}
