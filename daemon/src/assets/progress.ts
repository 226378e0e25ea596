import type { RebuildEvent, RebuildState } from './rebuild.js';

/**
 * Rebuild progress for people. On a TTY: one line per sprite, redrawn in
 * place as states change. Otherwise (CI logs, pipes): one plain line per
 * change. Writes to the given stream (the CLI passes stderr).
 */

const MARK: Record<RebuildState, string> = {
  queued: '·',
  skipped: '=',
  generating: '…',
  cached: '↺',
  processing: '⚙',
  deploying: '→',
  done: '✓',
  failed: '✗',
};

export interface ProgressSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressReporter {
  onEvent(event: RebuildEvent): void;
  /** Final redraw (TTY). */
  finish(): void;
}

/** A reporter for `sink`; `tty` defaults to sink.isTTY. */
export function createProgressReporter(
  sink: ProgressSink,
  tty = sink.isTTY === true,
): ProgressReporter {
  if (!tty) {
    return {
      onEvent: (e) => sink.write(`${e.name}: ${e.state}${e.detail ? ` (${e.detail})` : ''}\n`),
      finish: () => undefined,
    };
  }
  const rows = new Map<string, RebuildEvent>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    // Move up over the previous frame and clear it, then print the new one.
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const e of rows.values()) {
      out += `\x1b[2K${MARK[e.state]} ${e.name.padEnd(24)} ${e.state}${e.detail ? `  ${e.detail}` : ''}\n`;
    }
    drawn = rows.size;
    sink.write(out);
  };
  return {
    onEvent(e) {
      rows.set(e.name, e);
      // Coalesce bursts of events into one redraw per 50 ms.
      timer ??= setTimeout(draw, 50);
    },
    finish() {
      if (timer) clearTimeout(timer);
      draw();
    },
  };
}
