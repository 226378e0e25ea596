import { writeFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { recordToolList, TOOL_LIST_FILE } from './tool-list-cache.js';
import { allTools } from './tools/index.js';

// Run by `npm run build` after tsc: every tool's tools/list entry for the shipped default config,
// with the config keys the tools read, beside the compiled tool-list-cache.js (see there).
const { config } = loadConfig({ env: {} });
writeFileSync(TOOL_LIST_FILE, `${JSON.stringify(recordToolList(config, allTools))}\n`);
