// Floor for test/bench/mcp-overhead.bench.ts: a hand-written JSON-RPC responder over stdio
// (newline-delimited), answering every request with an empty result. No MCP, no validation.
import { createInterface } from 'node:readline';

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  const result =
    msg.method === 'initialize'
      ? {
          protocolVersion: msg.params.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'echo', version: '1' },
        }
      : { content: [{ type: 'text', text: 'ok' }] };
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result })}\n`);
});
rl.on('close', () => process.exit(0));
