// Exposed names (CONTRACT §2): `<prefix><separator><original>`, valid under
// ^[a-zA-Z0-9_-]{1,64}$ by default. A name that is too long or has characters clients
// reject is shortened deterministically: a clean stem plus 8 hex digits of a hash of
// (prefix, original), so the same input always gives the same name and distinct inputs
// stay apart.
import { createHash } from 'node:crypto';

export interface NamingOptions {
  separator: string;
  maxLength: number;
  prefix: 'always' | 'never';
}

export const CLIENT_SAFE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const HASH_CHARS = 8;

function escapeClass(text: string): string {
  return text.replace(/[\\\]^-]/g, '\\$&');
}

const patterns = new Map<string, { any: RegExp; all: RegExp }>();

/** Characters a name may not hold (all but the client-safe set and the separator's own), cached per separator. */
function invalidChars(separator: string): { any: RegExp; all: RegExp } {
  let found = patterns.get(separator);
  if (!found) {
    const extra = [...new Set(separator)].filter((c) => !/[a-zA-Z0-9_-]/.test(c)).join('');
    const source = `[^a-zA-Z0-9_${escapeClass(extra)}-]`;
    found = { any: new RegExp(source), all: new RegExp(source, 'g') };
    patterns.set(separator, found);
  }
  return found;
}

/** A warning when the separator makes names that clients reject, else undefined. */
export function separatorWarning(options: NamingOptions): string | undefined {
  if (!/^[a-zA-Z0-9_-]+$/.test(options.separator) || options.maxLength > 64) {
    return `naming: separator "${options.separator}" with maxLength ${options.maxLength} makes names outside ^[a-zA-Z0-9_-]{1,64}$, which the Anthropic and OpenAI APIs reject`;
  }
  return undefined;
}

export function nameHash(prefix: string, original: string, length = HASH_CHARS): string {
  return createHash('sha256').update(`${prefix}\0${original}`).digest('hex').slice(0, length);
}

/** The full form, before any shortening. */
export function plainName(prefix: string, original: string, options: NamingOptions, forcePrefix = false): string {
  return options.prefix === 'never' && !forcePrefix ? original : `${prefix}${options.separator}${original}`;
}

/** The shortened, hash-suffixed form of a name. */
export function hashedName(prefix: string, original: string, options: NamingOptions, hashLength = HASH_CHARS): string {
  const clean = plainName(prefix, original, options, true).replace(invalidChars(options.separator).all, '_');
  const suffix = `_${nameHash(prefix, original, hashLength)}`;
  return clean.slice(0, Math.max(1, options.maxLength - suffix.length)) + suffix;
}

/** The name a tool gets when nothing else claims it. */
export function candidateName(prefix: string, original: string, options: NamingOptions): string {
  const plain = plainName(prefix, original, options);
  if (plain.length > 0 && plain.length <= options.maxLength && !invalidChars(options.separator).any.test(plain)) return plain;
  return hashedName(prefix, original, options);
}

export interface NamedItem {
  prefix: string;
  original: string;
}

export interface Assignment<T extends NamedItem> {
  names: Map<string, T>;
  collisions: string[];
}

/**
 * Assigns every item a unique exposed name. Items are taken in (prefix, original) order;
 * the first keeps its candidate name, a later one that collides gets the prefixed form
 * (prefix mode `never`) or the hashed form, and each such case is reported.
 */
export function assignNames<T extends NamedItem>(items: readonly T[], options: NamingOptions): Assignment<T> {
  const sorted = [...items].sort((a, b) => (a.prefix === b.prefix ? compare(a.original, b.original) : compare(a.prefix, b.prefix)));
  const names = new Map<string, T>();
  const collisions: string[] = [];
  for (const item of sorted) {
    let name = candidateName(item.prefix, item.original, options);
    const holder = names.get(name);
    if (holder) {
      const fallbacks = [
        ...(options.prefix === 'never' ? [candidateName(item.prefix, item.original, { ...options, prefix: 'always' })] : []),
        hashedName(item.prefix, item.original, options),
        hashedName(item.prefix, item.original, options, 16),
      ];
      const free = fallbacks.find((f) => !names.has(f));
      if (!free) {
        collisions.push(`tool "${item.original}" of "${item.prefix}" cannot get a unique name; dropped`);
        continue;
      }
      collisions.push(`"${name}" is taken by "${holder.original}" of "${holder.prefix}"; "${item.original}" of "${item.prefix}" is exposed as "${free}"`);
      name = free;
    }
    names.set(name, item);
  }
  return { names, collisions };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
