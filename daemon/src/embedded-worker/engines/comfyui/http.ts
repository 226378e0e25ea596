/** HTTP to ComfyUI with errors that say what to fix. */

export class ComfyHttpError extends Error {}

/** fetch with a deadline; network failures and non-2xx become ComfyHttpError with a hint. */
export async function comfyFetch(
  base: string,
  path: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<Response> {
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new ComfyHttpError(
      `cannot reach ComfyUI at ${base} (${init.method ?? 'GET'} ${path}: ${cause}); check that ComfyUI is running there ` +
        '(python main.py --listen 127.0.0.1 --port 8188) or fix --comfyui-url / backend.comfyui_url',
      { cause: err },
    );
  }
  return res;
}

/** Throw unless 2xx, with the body's first 300 characters. */
export async function expectOk(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const body = (await res.text().catch(() => '')).slice(0, 300);
  throw new ComfyHttpError(
    `ComfyUI answered HTTP ${res.status} to ${what}${body ? `: ${body}` : ''}`,
  );
}

interface NodeError {
  errors?: { type?: string; message?: string; details?: string }[];
  class_type?: string;
}

/**
 * The job_error text for a rejected POST /prompt (`{error, node_errors}`):
 * every node's errors, plus the fix for the common cases (a model or LoRA file
 * ComfyUI does not have, a template that does not fit this ComfyUI).
 */
export function describePromptRejection(body: unknown, templateFile: string): string {
  const b = (body ?? {}) as { error?: unknown; node_errors?: Record<string, NodeError> };
  const top =
    typeof b.error === 'string'
      ? b.error
      : typeof b.error === 'object' && b.error !== null
        ? String((b.error as { message?: unknown }).message ?? JSON.stringify(b.error))
        : 'rejected';
  const parts: string[] = [];
  let missingModel = false;
  for (const [id, ne] of Object.entries(b.node_errors ?? {})) {
    for (const e of ne.errors ?? []) {
      parts.push(
        `node ${id} (${ne.class_type ?? '?'}): ${e.message ?? e.type ?? 'error'}${e.details ? ` (${e.details})` : ''}`,
      );
      if (e.type === 'value_not_in_list' && /ckpt_name|lora_name|vae_name/.test(e.details ?? ''))
        missingModel = true;
    }
  }
  const fix = missingModel
    ? 'A model file named in the job or the template is not installed in ComfyUI: put it into ComfyUI/models/checkpoints (or loras), or send a model/lora that list_models shows.'
    : `Check the workflow template ${templateFile} against this ComfyUI (custom nodes installed, input names).`;
  return `ComfyUI rejected the workflow: ${top}${parts.length ? `; ${parts.join('; ')}` : ''}. ${fix}`;
}
