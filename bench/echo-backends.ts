// Child process of the call benchmark: two echo backends (the test fixture, a real SDK
// server), one answering POSTs with JSON, one with SSE. Prints one ready line with their URLs.
import { startBackend, type ToolSpec } from '../test/fixtures/backend.js';

const tools: ToolSpec[] = [{
  name: 'echo',
  description: 'Echoes its arguments back.',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } } },
}];

const json = await startBackend({ tools, jsonResponse: true, name: 'echo-json' });
const sse = await startBackend({ tools, jsonResponse: false, name: 'echo-sse' });
process.stdout.write(`${JSON.stringify({ ready: true, json: json.url, sse: sse.url })}\n`);

const stop = (): void => {
  void Promise.allSettled([json.close(), sse.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
