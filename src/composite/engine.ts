// Runs composite tools: each step waits only for the steps it needs, so independent steps
// run concurrently. A step that fails, throws or times out fails the tool unless it is
// optional; then the output template sees its error. The engine calls tools only through
// the context it is given, so auth, rate limits and logging stay the gateway's.
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { evaluateBinding, evaluateExpression, type Scope } from './binding.js';
import { compileTool, type StepPlan, type ToolPlan } from './plan.js';
import type { CompositeConfig } from './schema.js';
import type { CompositeRunContext, CompositeToolDefinition } from './code.js';

export type StepStatus = 'ok' | 'error' | 'skipped' | 'timeout';

export interface StepEvent {
  stepId: string;
  tool: string;
  status: StepStatus;
  durationMs: number;
  error?: string;
}

export interface CompositeContext {
  /** Calls an exposed tool as the caller (their scopes, limits, request id). */
  callTool: (tool: string, args: Record<string, unknown>, opts: { stepId: string; signal: AbortSignal }) => Promise<CallToolResult>;
  /** The caller's cancellation. */
  signal?: AbortSignal;
  /** Once per step (config tools) or per call (code tools), when it ends or is skipped. */
  onStep?: (event: StepEvent) => void;
}

/** What expressions and the output template see of a finished step. */
export interface StepView {
  status: StepStatus;
  /** The text parts of the result, joined by newlines. */
  text: string;
  /** The result's structuredContent. */
  structured: unknown;
  content: CallToolResult['content'];
  isError: boolean;
  error: string | undefined;
  skipped: boolean;
  durationMs: number;
}

/** structuredContent of a composite result. */
export interface CompositeSummary {
  [key: string]: unknown;
  steps: Record<string, { status: StepStatus; durationMs: number; error?: string }>;
}

class StepTimeout extends Error {
  override readonly name = 'StepTimeout';
}

/** Why a step's call was aborted when it was not its own timeout. */
class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

interface Outcome {
  status: 'ok' | 'error' | 'timeout';
  result?: CallToolResult;
  /** What the call threw (not for isError results). */
  thrown?: unknown;
  error?: string;
  durationMs: number;
}

function textOf(result: CallToolResult): string {
  return result.content
    .filter((part): part is Extract<typeof part, { type: 'text' }> => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

/** An AbortController that also aborts, with `reason`, when `parent` does. */
function linked(parent: AbortSignal | undefined, reason: () => Error): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, unlink: () => undefined };
  const onAbort = (): void => controller.abort(reason());
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * One call with its own signal, aborted by its timeout or by `parent`. The call is raced
 * against that signal, so a step ends on time even if the callee ignores it.
 */
async function attempt(
  ctx: CompositeContext,
  stepId: string,
  tool: string,
  args: Record<string, unknown>,
  timeoutMs: number | undefined,
  parent: AbortSignal,
): Promise<Outcome> {
  const started = performance.now();
  const { controller, unlink } = linked(parent, () => (parent.reason instanceof Error ? parent.reason : new Cancelled('cancelled')));
  const signal = controller.signal;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new StepTimeout(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  const call = (async () => ctx.callTool(tool, args, { stepId, signal }))();
  // Whichever loses the race settles later, unobserved.
  aborted.catch(() => undefined);
  call.catch(() => undefined);
  try {
    const result = await Promise.race([call, aborted]);
    if (result.isError === true) return { status: 'error', result, error: textOf(result) || 'the tool reported an error', durationMs: ms(started) };
    return { status: 'ok', result, durationMs: ms(started) };
  } catch (error) {
    const reason: unknown = signal.aborted ? signal.reason : error;
    const status = reason instanceof StepTimeout ? 'timeout' : 'error';
    return { status, thrown: reason, error: messageOf(reason), durationMs: ms(started) };
  } finally {
    clearTimeout(timer);
    unlink();
  }
}

function emit(ctx: CompositeContext, event: StepEvent): void {
  try {
    ctx.onStep?.(event);
  } catch {
    // An observer's fault must not change the tool's result.
  }
}

type Entry = { kind: 'config'; plan: ToolPlan } | { kind: 'code'; definition: CompositeToolDefinition };

export class CompositeEngine {
  private readonly tools = new Map<string, Entry>();

  constructor(private readonly config: CompositeConfig, codeTools: readonly CompositeToolDefinition[] = []) {
    config.tools.forEach((tool, index) => {
      const { plan, issues } = compileTool(tool);
      if (!plan) {
        const described = issues.map((issue) => `composite.tools.${index}.${issue.path.join('.')}: ${issue.message}`);
        throw new Error(`invalid composite tool "${tool.name}": ${described.join('; ')}`);
      }
      this.add(tool.name, { kind: 'config', plan });
    });
    for (const definition of codeTools) this.add(definition.name, { kind: 'code', definition });
  }

  private add(name: string, entry: Entry): void {
    if (this.tools.has(name)) throw new Error(`duplicate composite tool "${name}"`);
    this.tools.set(name, entry);
  }

  private entry(name: string): Entry {
    const entry = this.tools.get(name);
    if (!entry) throw new McpError(ErrorCode.InvalidParams, `Unknown composite tool: ${name}`);
    return entry;
  }

  /** Exposed as <prefix><separator><name>. */
  get prefix(): string {
    return this.config.prefix;
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** Every exposed tool the composite may call (optional steps too): the caller needs them all. */
  requiredTools(name: string): string[] {
    const entry = this.entry(name);
    return entry.kind === 'config' ? [...new Set(entry.plan.steps.map((step) => step.tool))] : [...entry.definition.requires];
  }

  /** The composites whose every non-optional step tool is available, under their bare names. */
  listTools(isAvailable: (exposedName: string) => boolean): Tool[] {
    const tools: Tool[] = [];
    for (const [name, entry] of this.tools) {
      const needed = entry.kind === 'config' ? entry.plan.steps.filter((step) => !step.optional).map((step) => step.tool) : entry.definition.requires;
      if (!needed.every((tool) => isAvailable(tool))) continue;
      const { title, description, inputSchema } = entry.kind === 'config' ? entry.plan : entry.definition;
      tools.push({ name, ...(title === undefined ? {} : { title }), description, inputSchema });
    }
    return tools;
  }

  /**
   * Runs a composite. Bad arguments are an McpError (InvalidParams); a failing required step
   * is a result flagged isError. Rejects when the caller cancels (`ctx.signal`).
   */
  async call(name: string, args: unknown, ctx: CompositeContext): Promise<CallToolResult> {
    const entry = this.entry(name);
    return entry.kind === 'config' ? runPlan(entry.plan, args, ctx) : runCode(entry.definition, args, ctx);
  }
}

function cancelledByCaller(signal: AbortSignal | undefined, tool: string): Error {
  return signal?.reason instanceof Error ? signal.reason : new Cancelled(`composite tool ${tool} cancelled by the caller`);
}

async function runPlan(plan: ToolPlan, args: unknown, ctx: CompositeContext): Promise<CallToolResult> {
  const checked = plan.checkInput(args);
  if ('error' in checked) throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for composite tool ${plan.name}: ${checked.error}`);

  // Aborted by the caller, or by the first required step to fail: nothing new starts after it.
  const { controller: run, unlink } = linked(ctx.signal, () => new Cancelled('cancelled by the caller'));
  const views: Record<string, StepView> = {};
  const scope: Scope = { input: checked.input, steps: views };
  let failure: { step: StepPlan; view: StepView } | undefined;

  const finish = (step: StepPlan, view: StepView): void => {
    views[step.id] = view;
    emit(ctx, { stepId: step.id, tool: step.tool, status: view.status, durationMs: view.durationMs, ...(view.error === undefined ? {} : { error: view.error }) });
    if (view.isError && !step.optional && !failure) {
      failure = { step, view };
      run.abort(new Cancelled(`cancelled: step "${step.id}" failed`));
    }
  };
  const skip = (step: StepPlan, reason: string | undefined): void =>
    finish(step, { status: 'skipped', text: '', structured: undefined, content: [], isError: false, error: reason, skipped: true, durationMs: 0 });
  const fail = (step: StepPlan, error: string, started: number): void =>
    finish(step, { status: 'error', text: '', structured: undefined, content: [], isError: true, error, skipped: false, durationMs: ms(started) });

  const runStep = async (step: StepPlan): Promise<void> => {
    if (run.signal.aborted) {
      skip(step, failure ? `not run: step "${failure.step.id}" failed` : 'not run: cancelled by the caller');
      return;
    }
    const started = performance.now();
    let stepArgs: Record<string, unknown>;
    try {
      if (step.when && !(await evaluateExpression(step.when, scope))) {
        skip(step, undefined);
        return;
      }
      stepArgs = (await evaluateBinding(step.arguments, scope)) as Record<string, unknown>;
    } catch (error) {
      fail(step, messageOf(error), started);
      return;
    }
    const outcome = await attempt(ctx, step.id, step.tool, stepArgs, step.timeoutMs, run.signal);
    const result = outcome.result;
    finish(step, {
      status: outcome.status,
      text: result ? textOf(result) : '',
      structured: result?.structuredContent,
      content: result?.content ?? [],
      isError: outcome.status !== 'ok',
      error: outcome.error,
      skipped: false,
      durationMs: outcome.durationMs,
    });
  };

  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  const runs = new Map<string, Promise<void>>();
  const runOf = (step: StepPlan): Promise<void> => {
    let running = runs.get(step.id);
    if (!running) {
      // The plan has no cycles, so this recursion ends; each step starts once its needs are done.
      running = Promise.all(step.needs.map((dep) => runOf(byId.get(dep) as StepPlan))).then(() => runStep(step));
      runs.set(step.id, running);
    }
    return running;
  };
  try {
    await Promise.all(plan.steps.map(runOf));
  } finally {
    unlink();
  }
  if (ctx.signal?.aborted) throw cancelledByCaller(ctx.signal, plan.name);

  // In config order, for the summary and the template.
  const steps: Record<string, StepView> = {};
  const summary: CompositeSummary = { steps: {} };
  for (const step of plan.steps) {
    const view = views[step.id] as StepView;
    steps[step.id] = view;
    summary.steps[step.id] = { status: view.status, durationMs: view.durationMs, ...(view.error === undefined ? {} : { error: view.error }) };
  }

  if (failure) {
    const { step, view } = failure;
    const notRun = plan.steps.filter((s) => steps[s.id]?.skipped).map((s) => s.id);
    const lines = [`${plan.name}: step "${step.id}" (${step.tool}) ${view.status === 'timeout' ? 'timed out' : 'failed'}: ${view.error ?? ''}`];
    if (notRun.length > 0) lines.push(`Not run: ${notRun.join(', ')}`);
    return { isError: true, content: [{ type: 'text', text: lines.join('\n') }], structuredContent: summary };
  }
  let text: string;
  try {
    text = plan.render({ input: checked.input, steps });
  } catch (error) {
    return { isError: true, content: [{ type: 'text', text: `${plan.name}: output template failed: ${messageOf(error)}` }], structuredContent: summary };
  }
  return { content: [{ type: 'text', text }], structuredContent: summary };
}

async function runCode(definition: CompositeToolDefinition, args: unknown, ctx: CompositeContext): Promise<CallToolResult> {
  const input = definition.parseInput(args);
  const { controller: run, unlink } = linked(ctx.signal, () => new Cancelled('cancelled by the caller'));
  const calls = new Map<string, number>();
  const call: CompositeRunContext['call'] = async (tool, callArgs = {}, opts = {}) => {
    if (!definition.requires.includes(tool)) throw new Error(`composite tool ${definition.name} calls ${tool}, which is not in its requires`);
    const count = (calls.get(tool) ?? 0) + 1;
    calls.set(tool, count);
    const stepId = opts.stepId ?? (count === 1 ? tool : `${tool}#${count}`);
    const timeoutMs = opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000;
    const outcome = await attempt(ctx, stepId, tool, callArgs, timeoutMs, run.signal);
    emit(ctx, { stepId, tool, status: outcome.status, durationMs: outcome.durationMs, ...(outcome.error === undefined ? {} : { error: outcome.error }) });
    if (outcome.result) return outcome.result;
    if (outcome.status === 'timeout') throw new Error(`${tool} ${outcome.error ?? 'timed out'}`);
    throw outcome.thrown;
  };
  try {
    return await definition.run(input, { call, signal: run.signal });
  } catch (error) {
    if (ctx.signal?.aborted) throw cancelledByCaller(ctx.signal, definition.name);
    return { isError: true, content: [{ type: 'text', text: `${definition.name} failed: ${messageOf(error)}` }] };
  } finally {
    unlink();
  }
}
