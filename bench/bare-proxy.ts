// Child process of the call benchmark: the floor of any Node proxy hop, for reference. It
// forwards every request byte for byte (headers and body) to one target with Node's HTTP
// server and an undici Pool, the same parts the gateway's call path uses, and does nothing
// else: no MCP, no sessions, no routing, no auth, no logs. Prints one ready line with its URL.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const target = new URL(process.argv[2] ?? '');
const pool = new Pool(target.origin, { connections: 16 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
    pool.request({ path: target.pathname, method: req.method as 'POST', headers, body: req.method === 'POST' ? Buffer.concat(chunks) : null })
      .then(async (upstream) => {
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(upstream.headers)) if (typeof value === 'string' && !HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(upstream.statusCode, out);
        for await (const chunk of upstream.body) res.write(chunk);
        res.end();
      })
      .catch((error: Error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(error.message);
      });
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}${target.pathname}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
