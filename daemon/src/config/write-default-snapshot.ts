import { readFileSync, writeFileSync } from 'node:fs';
import {
  configTextHash,
  DEFAULT_CONFIG_FILE,
  DEFAULT_SNAPSHOT_FILE,
  type DefaultConfigSnapshot,
  parseConfigText,
} from './load.js';

// Run by `npm run build` after tsc: the shipped config/mcp_config.yaml parsed once, beside the
// compiled load.js, so `serve` with that file unmodified starts without the YAML parser.
const text = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
const snapshot: DefaultConfigSnapshot = {
  sha256: configTextHash(text),
  ...parseConfigText(DEFAULT_CONFIG_FILE, text),
};
writeFileSync(DEFAULT_SNAPSHOT_FILE, `${JSON.stringify(snapshot)}\n`);
