// Durations as the registration options take them: milliseconds, or Consul's own notation
// ("10s", "500ms", "1m", "1h30m") so CLI flags and Consul configs can be passed through.
import { z } from 'zod';

export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds of a duration, or undefined when Consul would not read it the same way. */
export function parseDuration(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const text = value.trim();
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total > 0 ? total : undefined;
}

/** A positive duration, given as milliseconds or as "10s"; parses to milliseconds. */
export const DurationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a positive duration (milliseconds, or like 10s, 500ms, 1m)` });
    return z.NEVER;
  }
  return ms;
});

/** The form Consul's agent API accepts. */
export function consulDuration(ms: number): string {
  return `${Math.round(ms)}ms`;
}
