// A short tour of the gateway with the official SDK client: list the fleet's tools, then
// call one tool of each team through the one endpoint. `node dist/src/demo/client.js [URL]`.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface TourStep {
  tool: string;
  arguments: Record<string, unknown>;
  text: string;
  isError: boolean;
}

export const TOUR: { tool: string; arguments: Record<string, unknown> }[] = [
  { tool: 'ops__lookup_inventory', arguments: { item_name: '노트북' } },
  { tool: 'hr__search_policy', arguments: { query: '노트북' } },
  { tool: 'fin__calculate_budget', arguments: { department: '운영팀', months: 6 } },
  { tool: 'ops__search', arguments: { query: '모니터' } },
  { tool: 'flow__incident_full_report', arguments: { item_name: '노트북' } },
];

export async function tour(url: string, token?: string): Promise<{ tools: string[]; steps: TourStep[] }> {
  const client = new Client({ name: 'mcp-gateway-demo-client', version: '0.1.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    const { tools } = await client.listTools();
    const steps: TourStep[] = [];
    const listed = new Set(tools.map((t) => t.name));
    // A gateway without the demo's composite tool (the local fleet) skips that step.
    for (const step of TOUR.filter((s) => listed.has(s.tool))) {
      const result = await client.callTool({ name: step.tool, arguments: step.arguments });
      const content = (result.content as { type: string; text?: string }[] | undefined) ?? [];
      steps.push({ ...step, text: content.map((c) => c.text ?? '').join('\n'), isError: result.isError === true });
    }
    return { tools: tools.map((t) => t.name), steps };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const url = process.argv[2] ?? 'http://127.0.0.1:8000/mcp';
  const { tools, steps } = await tour(url, process.env.MCP_GATEWAY_TOKEN);
  process.stdout.write(`tools at ${url} (${tools.length}):\n${tools.map((t) => `  ${t}`).join('\n')}\n`);
  for (const step of steps) {
    process.stdout.write(`\n> ${step.tool} ${JSON.stringify(step.arguments)}${step.isError ? '  [isError]' : ''}\n${step.text}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`demo client failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
