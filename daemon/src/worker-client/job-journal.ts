import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Append-only JSONL journal of job records (`<stateDir>/jobs.jsonl`): one line
 * per change, the full record each time, so replay is "last line per id wins".
 * Appends are synchronous single writes (a line is small), so a crash leaves
 * at most a torn last line, which replay skips. Compaction rewrites the live
 * records to a temp file, fsyncs and renames it over the journal (atomic on
 * one filesystem), so a crash mid-compaction leaves the old journal intact.
 */
/** What a journal line holds at least: the job it is about and its state (job-store's records). */
export interface JournalRecord {
  jobId: string;
  status: string;
}

export class JobJournal<R extends JournalRecord = JournalRecord> {
  readonly path: string;
  private fd: number | undefined;
  private lines = 0;

  constructor(
    stateDir: string,
    private readonly compactAfterLines: number,
    private readonly logger: Logger,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.path = join(stateDir, 'jobs.jsonl');
  }

  /** Records from the journal, last state per job, in first-seen order. Bad lines are skipped with a warning. */
  replay(): R[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const out = new Map<string, R>();
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const record = JSON.parse(line) as R;
        if (typeof record.jobId !== 'string' || typeof record.status !== 'string')
          throw new Error('not a job record');
        out.set(record.jobId, record);
      } catch (err) {
        const torn = i >= lines.length - 2;
        this.logger.warn(
          { journal: this.path, line: i + 1, err: errorMessage(err) },
          torn ? 'skipping torn last journal line' : 'skipping bad journal line',
        );
      }
    });
    this.lines = lines.filter((l) => l.trim() !== '').length;
    return [...out.values()];
  }

  /** Append one record; returns true when the journal is due for compaction. */
  append(record: R): boolean {
    this.fd ??= openSync(this.path, 'a');
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    this.lines++;
    return this.lines >= this.compactAfterLines;
  }

  /** Rewrite the journal to hold exactly `records`. */
  compact(records: R[]): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    writeFileSync(tmp, text);
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    this.close();
    renameSync(tmp, this.path);
    this.lines = records.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
