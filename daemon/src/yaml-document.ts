import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { DaemonError, type DaemonErrorCode } from './errors.js';

let loaded: typeof import('yaml') | undefined;
/**
 * The YAML parser, loaded on first use: `serve` with the shipped config (read from the build's
 * snapshot) and plain env values never needs it, and it costs start-up time.
 */
export function yaml(): typeof import('yaml') {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return loaded;
}

/** A parsed YAML document and the counter that maps its offsets to 1-based lines. */
export interface YamlWithLines {
  doc: Document.Parsed;
  counter: LineCounter;
}

/**
 * Parse YAML (or JSON) text, keeping line positions for later messages.
 * `label` names the source, e.g. `config file /x/mcp_config.yaml`.
 * @throws DaemonError(code) `<label>:<line> is not valid YAML: <first error>; fix the syntax there`.
 */
export function parseYamlWithLines(
  text: string,
  label: string,
  code: DaemonErrorCode,
): YamlWithLines {
  const { LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    // prettyErrors: false leaves linePos unset; the offset is always there
    const line = e?.linePos?.[0]?.line ?? (e ? counter.linePos(e.pos[0]).line : undefined);
    throw new DaemonError(
      code,
      `${label}${line ? `:${line}` : ''} is not valid YAML: ${e?.message.split('\n')[0]}; fix the syntax there`,
    );
  }
  return { doc, counter };
}
