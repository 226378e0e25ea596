import { DecodeError, Encoder, decode as msgpackDecode } from '@msgpack/msgpack';
import type { z } from 'zod';
import { DaemonError } from '../errors.js';
import {
  FLOAT_FIELDS,
  ReplySchema,
  RequestSchema,
  UpdateSchema,
  type WorkerMessage,
  type WorkerReply,
  type WorkerRequest,
  type WorkerUpdate,
} from './messages.js';

// Python's msgpack packs str as str and bytes as bin (use_bin_type=True); so does @msgpack/msgpack.
const plain = new Encoder({ ignoreUndefined: true });
const float64 = new Encoder({ forceIntegerToFloat: true });

function mapHeader(size: number): Uint8Array {
  if (size < 16) return Uint8Array.of(0x80 | size);
  if (size < 0x10000) return Uint8Array.of(0xde, size >> 8, size & 0xff);
  return Uint8Array.of(0xdf, size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff);
}

/**
 * Encode one wire message as a single MessagePack map, keys in the object's
 * insertion order, `undefined` fields omitted (the protocol never sends nil for
 * an unset optional field) and FLOAT_FIELDS written as float64 like Python.
 */
export function encode(message: WorkerMessage | Record<string, unknown>): Uint8Array {
  const entries = Object.entries(message).filter(([, v]) => v !== undefined);
  const parts: Uint8Array[] = [mapHeader(entries.length)];
  for (const [key, value] of entries) {
    parts.push(plain.encode(key));
    const floatish = FLOAT_FIELDS.has(key) && typeof value === 'number';
    parts.push(floatish ? float64.encode(value) : plain.encode(value));
  }
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Decode raw bytes into a plain map with a string `type`. Throws
 * DaemonError('BAD_FRAME') for anything else: garbage bytes, an empty frame,
 * an array or a scalar, a map without `type`. Never throws anything else.
 */
export function decodeMap(frame: Uint8Array): Record<string, unknown> & { type: string } {
  let value: unknown;
  try {
    value = msgpackDecode(frame);
  } catch (err) {
    const why = err instanceof DecodeError || err instanceof RangeError ? err.message : String(err);
    throw new DaemonError(
      'BAD_FRAME',
      `frame of ${frame.length} bytes is not MessagePack: ${why}`,
      {
        cause: err,
      },
    );
  }
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw new DaemonError(
      'BAD_FRAME',
      `frame is a MessagePack ${Array.isArray(value) ? 'array' : typeof value}, expected a map with a string "type"`,
    );
  }
  const map = value as Record<string, unknown>;
  if (typeof map.type !== 'string') {
    throw new DaemonError('BAD_FRAME', 'frame is a map without a string "type" key');
  }
  return map as Record<string, unknown> & { type: string };
}

function validate<T>(schema: z.ZodType<T>, map: Record<string, unknown>, what: string): T {
  const parsed = schema.safeParse(map);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || 'type'}: ${i.message}`)
    .join('; ');
  throw new DaemonError('BAD_FRAME', `${what} "${String(map.type)}" is malformed: ${issues}`);
}

/** Decode and validate a reply (REP → REQ). Throws DaemonError('BAD_FRAME'). */
export function decodeReply(frame: Uint8Array): WorkerReply {
  return validate(ReplySchema, decodeMap(frame), 'reply');
}

/** Decode and validate an update (PUB → SUB). Throws DaemonError('BAD_FRAME'). */
export function decodeUpdate(frame: Uint8Array): WorkerUpdate {
  return validate(UpdateSchema, decodeMap(frame), 'update');
}

/** Decode and validate a request (REQ → REP), for the embedded worker. Throws DaemonError('BAD_FRAME'). */
export function decodeRequest(frame: Uint8Array): WorkerRequest {
  return validate(RequestSchema, decodeMap(frame), 'request');
}
