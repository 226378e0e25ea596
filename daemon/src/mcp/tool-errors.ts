import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { type DaemonErrorCode, errorMessage, isDaemonError } from '../errors.js';

/**
 * Failures inside a tool become `isError: true` results (never JSON-RPC
 * errors) whose text a model can act on. The first sentence keeps the seed's
 * wording (`Validation error in prompt: …`, `Backend connection failed: …`,
 * `Generation timed out after 300s`); the rest names the value and the fix.
 */

/** What to do next, per argument, appended to validation errors. */
const FIX: Record<string, string> = {
  prompt: 'Describe the sprite in a few words, e.g. "knight with a sword".',
  prompts: 'Pass a list of prompts, one sprite each.',
  style: 'Pick one of the listed styles (list_styles describes them).',
  resolution: 'Pick one of the listed resolutions; use size for the final sprite size.',
  steps: 'Leave steps out for the default.',
  cfg_scale: 'Leave cfg_scale out for the default.',
  size: 'Example: [32, 32].',
  palette: 'Call list_styles for the palette names.',
  outline: 'Example: true or "#1a1c2c".',
  job_id: 'Call list_jobs to see the ids this daemon knows.',
  sprite_name: 'Example: "knight_idle".',
  name: 'Example: "knight_idle".',
  wait_s: `Example: 30.`,
};

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)} (${value.length} characters)`;
  }
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/**
 * Every invalid argument of a tool call, one line each, in one answer:
 * `Validation error in <field>: <seed sentence>; got <value>. <fix>`. The first
 * line is the seed's wording for the first bad argument; later lines add the
 * others (one per field: a field's first issue), so a caller fixes all at once.
 */
export function validationMessage(issues: readonly z.core.$ZodIssue[], args: unknown): string {
  if (issues.length === 0) return 'Validation error: invalid arguments';
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const issue of issues) {
    const field =
      issue.code === 'unrecognized_keys' ? '\0arguments' : String(issue.path[0] ?? 'arguments');
    if (seen.has(field)) continue;
    seen.add(field);
    lines.push(issueMessage(issue, args));
  }
  return lines.join('\n');
}

function issueMessage(issue: z.core.$ZodIssue, args: unknown): string {
  const record = (args ?? {}) as Record<string, unknown>;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return `Validation error in arguments: unknown argument ${keys}; check its spelling against the tool's input schema.`;
  }
  const field = String(issue.path[0] ?? 'arguments');
  let value: unknown = record;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  const where = issue.path.length > 1 ? ` (at ${issue.path.join('.')})` : '';
  const fix = FIX[field];
  return `Validation error in ${field}: ${issue.message}${where}; got ${describeValue(value)}.${fix ? ` ${fix}` : ''}`;
}

/** A failure as a tool result, with a structured copy for callers that read fields. */
export function toolError(
  err: unknown,
  structured?: Record<string, unknown>,
  failurePrefix = 'Generation failed',
): CallToolResult {
  const text = errorText(err, failurePrefix);
  const result: CallToolResult = { content: [{ type: 'text', text }], isError: true };
  if (structured !== undefined)
    result.structuredContent = { ...structured, status: 'error', error: text };
  return result;
}

/**
 * The seed's wording per error code, then the detail and the fix. Mapped by code only:
 * the backend words every WORKER_UNREACHABLE ("Backend connection failed: …", see
 * `connectionFailed` in errors.ts) and the service words JOB_TIMEOUT ("Generation timed out
 * after 300s…"), so those pass through; the others get their code's first words here.
 */
export function errorText(err: unknown, failurePrefix = 'Generation failed'): string {
  if (!isDaemonError(err)) return `${failurePrefix}: ${errorMessage(err)}`;
  return failureText(err.code, err.message, failurePrefix);
}

/** A failure's text in the seed's wording, from its code and detail (a failed job's view, an error). */
export function failureText(
  code: DaemonErrorCode,
  detail: string,
  failurePrefix = 'Generation failed',
): string {
  switch (code) {
    case 'WORKER_UNREACHABLE':
    case 'JOB_TIMEOUT':
      return detail;
    case 'WORKER_TIMEOUT':
      return `Generation timed out: ${detail}`;
    case 'JOB_FAILED':
      return `${failurePrefix}: ${detail}`;
    default:
      return detail;
  }
}
