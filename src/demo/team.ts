// What a demo backend is: one team's tools, installed on each session's McpServer, with the
// team's state (tickets, leave balances) shared by every session of the process.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export type TeamKind = 'ops' | 'hr' | 'finance';

export interface DemoTeam {
  kind: TeamKind;
  /** Server name in `initialize`. */
  serverName: string;
  install(server: McpServer): void;
}

/** A readable text for the model plus the same facts as structured content. */
export function answer(text: string, data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: data };
}

/** A tool-level failure: the model sees why and can try again. */
export function refusal(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** Lower-cased, space-free form for forgiving matches ("Docking Station" ~ "docking-station"). */
export function fold(text: string): string {
  return text.toLowerCase().replace(/[\s_-]+/g, '');
}

/** Whitespace-separated terms of a search query, folded. */
export function terms(query: string): string[] {
  return query.split(/\s+/).map(fold).filter((term) => term.length > 0);
}

/** How many of the terms occur in any of the fields. */
export function score(queryTerms: string[], fields: string[]): number {
  const haystack = fields.map(fold);
  return queryTerms.filter((term) => haystack.some((field) => field.includes(term))).length;
}

export function won(amount: number): string {
  return `${amount.toLocaleString('ko-KR')}원`;
}
