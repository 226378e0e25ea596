import WebSocket from 'ws';
import type { EngineProgress } from '../../engine.js';
import { ComfyHttpError, comfyFetch, expectOk } from './http.js';
import { stageOfNode } from './workflow.js';

/**
 * Seconds left after sampler step `value` of `max`, `elapsedMs` after the sampler
 * started: time per step so far × steps left, plus about a second for decode and save.
 * A step that seems to take no time (its messages read in one tick on a busy event
 * loop) is no measurement: 0.5 s a step until there is one.
 */
export function samplingEtaS(value: number, max: number, elapsedMs: number): number {
  const perStepS = value > 0 && elapsedMs > 0 ? elapsedMs / 1000 / value : 0.5;
  return perStepS * (max - value) + 1;
}

/** One output image as ComfyUI names it (`/view?filename=&subfolder=&type=`). */
export interface ComfyImage {
  filename: string;
  subfolder: string;
  type: string;
}

interface HistoryEntry {
  outputs?: Record<string, { images?: ComfyImage[] }>;
  status?: {
    status_str?: string;
    completed?: boolean;
    messages?: [string, Record<string, unknown>][];
  };
}

/** Open ComfyUI's websocket for `clientId`; undefined when it does not open within `timeoutMs`. */
export function openSocket(
  base: string,
  clientId: string,
  timeoutMs: number,
): Promise<WebSocket | undefined> {
  const url = `${base.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(clientId)}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
    const fail = (): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(undefined);
    };
    ws.once('open', () => {
      ws.removeListener('error', fail);
      ws.on('error', () => {}); // a later failure only means: fall back to polling
      resolve(ws);
    });
    ws.once('error', fail);
  });
}

export interface WatchOptions {
  base: string;
  promptId: string;
  ws: WebSocket | undefined;
  signal: AbortSignal;
  totalSteps: number;
  /** class_type of a node id, for the progress stage. */
  classOf(nodeId: string): string | undefined;
  onProgress(p: EngineProgress): void;
  /** History polling interval (the fallback when the websocket is silent or absent). */
  pollMs: number;
  timeoutMs: number;
}

function executionErrorText(data: Record<string, unknown>): string {
  const node =
    data.node_id === undefined
      ? ''
      : ` in node ${String(data.node_id)} (${String(data.node_type ?? '?')})`;
  const what = `${String(data.exception_type ?? 'error')}: ${String(data.exception_message ?? '').trim()}`;
  const hint = /out of memory|OOM/i.test(what)
    ? ' Lower the size or batch, or free GPU memory.'
    : /not found|No such file/i.test(what)
      ? ' A file the workflow needs is missing in ComfyUI.'
      : '';
  return `ComfyUI execution failed${node}: ${what}.${hint}`;
}

/**
 * Follow one prompt until ComfyUI has finished it: websocket events for
 * progress (`execution_start`, `executing`, `progress`, `executed`,
 * `execution_success` / `_error` / `_interrupted`), and `/history/{id}`
 * polling as the fallback and the final word. Resolves with the output images;
 * rejects with a job_error text, or the signal's reason when aborted.
 */
export function waitForPrompt(o: WatchOptions): Promise<ComfyImage[]> {
  return new Promise<ComfyImage[]>((resolve, reject) => {
    let settled = false;
    let percent = 0;
    let samplingStartMs: number | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: unknown, images?: ComfyImage[]): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.ws?.removeListener('message', onMessage);
      o.signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(images ?? []);
    };
    const report = (p: Omit<EngineProgress, 'percent'> & { percent: number }): void => {
      percent = Math.max(percent, p.percent);
      o.onProgress({ ...p, percent });
    };
    const checkHistory = async (): Promise<boolean> => {
      const res = await expectOk(
        await comfyFetch(o.base, `/history/${encodeURIComponent(o.promptId)}`),
        'GET /history',
      );
      const body = (await res.json()) as Record<string, HistoryEntry>;
      const entry = body[o.promptId];
      if (entry === undefined) return false;
      const status = entry.status;
      const images = Object.values(entry.outputs ?? {}).flatMap((out) => out.images ?? []);
      if (status?.status_str === 'error') {
        const failure = status.messages?.find(
          ([kind]) => kind === 'execution_error' || kind === 'execution_interrupted',
        );
        if (failure?.[0] === 'execution_interrupted')
          throw new ComfyHttpError(
            'ComfyUI interrupted the prompt (someone pressed cancel in ComfyUI?)',
          );
        throw new ComfyHttpError(
          failure
            ? executionErrorText(failure[1])
            : 'ComfyUI reports the prompt failed without details',
        );
      }
      if (status?.completed === false && images.length === 0) return false;
      if (images.length === 0)
        throw new ComfyHttpError(
          'ComfyUI finished the prompt but it produced no images; the workflow needs a SaveImage node',
        );
      finish(undefined, images);
      return true;
    };
    const poll = (): void => {
      if (settled) return;
      checkHistory().then(
        (done) => {
          if (!done && !settled)
            timers.push(
              setTimeout(
                poll,
                o.ws && o.ws.readyState === WebSocket.OPEN ? o.pollMs * 4 : o.pollMs,
              ),
            );
        },
        (err: unknown) => finish(err),
      );
    };
    const onMessage = (raw: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) return; // latent previews
      let msg: { type?: string; data?: Record<string, unknown> };
      try {
        msg = JSON.parse(raw.toString()) as typeof msg;
      } catch {
        return;
      }
      const data = msg.data ?? {};
      if (data.prompt_id !== o.promptId) return;
      switch (msg.type) {
        case 'execution_start':
          report({ stage: 'initializing', step: 0, totalSteps: o.totalSteps, percent: 2, etaS: 0 });
          break;
        case 'executing': {
          if (data.node === null) {
            poll();
            break;
          }
          const stage = stageOfNode(o.classOf(String(data.node)));
          if (stage === 'sampling') samplingStartMs = Date.now(); // the sampler node starts its steps now
          const at = {
            loading_models: 5,
            encoding: 8,
            sampling: 10,
            decoding: 92,
            post_processing: 97,
          } as const;
          if (stage)
            report({
              stage,
              step: stage === 'decoding' || stage === 'post_processing' ? o.totalSteps : 0,
              totalSteps: o.totalSteps,
              percent: at[stage],
              etaS: 0,
            });
          break;
        }
        case 'progress': {
          const value = Number(data.value);
          const max = Math.max(1, Number(data.max));
          samplingStartMs ??= Date.now();
          report({
            stage: 'sampling',
            step: value,
            totalSteps: max,
            percent: 10 + (80 * value) / max,
            etaS: samplingEtaS(value, max, Date.now() - samplingStartMs),
          });
          break;
        }
        case 'execution_success':
          poll();
          break;
        case 'execution_error':
          finish(new ComfyHttpError(executionErrorText(data)));
          break;
        case 'execution_interrupted':
          if (!o.signal.aborted)
            finish(
              new ComfyHttpError(
                'ComfyUI interrupted the prompt (someone pressed cancel in ComfyUI?)',
              ),
            );
          break;
      }
    };
    const onAbort = (): void => finish(o.signal.reason);
    if (o.signal.aborted) return finish(o.signal.reason);
    o.signal.addEventListener('abort', onAbort, { once: true });
    o.ws?.on('message', onMessage);
    timers.push(
      setTimeout(
        () =>
          finish(
            new ComfyHttpError(
              `ComfyUI did not finish the prompt within ${o.timeoutMs / 1000} s; it may be stuck or overloaded`,
            ),
          ),
        o.timeoutMs,
      ),
    );
    timers.push(setTimeout(poll, o.pollMs));
  });
}
