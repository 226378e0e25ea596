import { z } from 'zod';
import { PoseSchema } from './pose.js';

/**
 * Every message of the DGX worker wire protocol v1.0.0 (shared/PROTOCOL.md).
 * Field names are the wire's own; key order in each schema is the order the
 * Python worker writes them (message_protocol.py `to_dict`), which `encode`
 * follows so our frames are byte-identical to the Python worker's.
 */

export const PROTOCOL_VERSION = '1.0.0';

// Floats may arrive as float64 or as integers (PROTOCOL.md "Numbers").
const num = z.number().finite();
const int = z.number().int();
const str = z.string();

export const GenerationStageSchema = z.enum([
  'initializing',
  'loading_models',
  'encoding',
  'sampling',
  'decoding',
  'post_processing',
]);
export type GenerationStage = z.infer<typeof GenerationStageSchema>;

export const ModelTypeSchema = z.enum(['checkpoint', 'lora', 'vae']);

// ---------------------------------------------------------------- requests

/** msgpack bin (PNG bytes); any Uint8Array, Buffer included */
const bin = z.custom<Uint8Array>((v) => v instanceof Uint8Array, {
  message: 'expected binary (msgpack bin)',
});

export const WireGenerateRequestSchema = z.object({
  type: z.literal('generate'),
  id: str,
  prompt: str,
  model: str,
  size: z.tuple([int, int]),
  steps: int,
  cfg_scale: num,
  lora: str.optional(),
  batch_size: int.optional(),
  animation_frames: int.optional(),
  tileset_grid: z.tuple([int, int]).optional(),
  // extensions (ours; the Python worker ignores them)
  return_image: z.boolean().optional(),
  seed: int.optional(),
  negative_prompt: str.optional(),
  style: str.optional(),
  /** extension `pose` (protocol/pose.ts): sent only to workers that advertise it */
  pose: PoseSchema.optional(),
  /**
   * extensions `init_image`, `mask`, `reference_images` (image conditioning, protocol/conditioning.ts):
   * sent only to workers that list them in capabilities_info.extensions
   */
  init_image: bin.optional(),
  /** 0..1, how much of init_image may change (img2img denoise); with init_image only */
  strength: num.optional(),
  /** PNG, white = repaint; with init_image only */
  mask: bin.optional(),
  reference_images: z.array(bin).optional(),
});
export const CancelRequestSchema = z.object({ type: z.literal('cancel'), job_id: str });
export const ListModelsRequestSchema = z.object({ type: z.literal('list_models') });
export const StatusRequestSchema = z.object({ type: z.literal('status') });
export const PingRequestSchema = z.object({ type: z.literal('ping') });
/** Extension: recover a job's state when its PUB messages were missed. */
export const JobStatusRequestSchema = z.object({ type: z.literal('job_status'), job_id: str });
/** Extension: which extensions a worker honours (the Python worker answers `error "Unknown request type"`). */
export const CapabilitiesRequestSchema = z.object({ type: z.literal('capabilities') });

export const RequestSchema = z.discriminatedUnion('type', [
  WireGenerateRequestSchema,
  CancelRequestSchema,
  ListModelsRequestSchema,
  StatusRequestSchema,
  PingRequestSchema,
  JobStatusRequestSchema,
  CapabilitiesRequestSchema,
]);

// ----------------------------------------------------------------- replies

export const JobAcceptedSchema = z.object({
  type: z.literal('job_accepted'),
  job_id: str,
  estimated_time_s: num,
});
export const JobCancelledSchema = z.object({ type: z.literal('job_cancelled'), job_id: str });
/**
 * `reason: 'busy'` is our extension (the embedded worker's full queue, worker.max_queue): the job
 * was not queued and another worker may take it. The Python worker never sends it.
 */
export const JobErrorSchema = z.object({
  type: z.literal('job_error'),
  job_id: str,
  error: str,
  reason: z.literal('busy').optional(),
});
export const ModelInfoSchema = z.object({
  name: str,
  path: str,
  model_type: ModelTypeSchema,
  size_mb: int,
});
export const ModelListSchema = z.object({
  type: z.literal('model_list'),
  models: z.array(ModelInfoSchema),
});
export const StatusInfoSchema = z.object({
  type: z.literal('status_info'),
  version: str,
  queue_size: int,
  active_jobs: int,
  uptime_s: int,
});
export const PongSchema = z.object({ type: z.literal('pong') });
export const ErrorReplySchema = z.object({ type: z.literal('error'), message: str });
export const JobStateSchema = z.object({
  type: z.literal('job_state'),
  job_id: str,
  state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  image_path: str.optional(),
  error: str.optional(),
});

/** Reply to `capabilities`: the protocol version and the extension names honoured. */
export const CapabilitiesInfoSchema = z.object({
  type: z.literal('capabilities_info'),
  version: str,
  extensions: z.array(str),
});

export const ReplySchema = z.discriminatedUnion('type', [
  JobAcceptedSchema,
  JobCancelledSchema,
  JobErrorSchema,
  ModelListSchema,
  StatusInfoSchema,
  PongSchema,
  ErrorReplySchema,
  JobStateSchema,
  CapabilitiesInfoSchema,
]);

// ----------------------------------------------------------------- updates

export const JobStartedSchema = z.object({
  type: z.literal('job_started'),
  job_id: str,
  timestamp: int,
});
export const ProgressSchema = z.object({
  type: z.literal('progress'),
  job_id: str,
  stage: GenerationStageSchema,
  step: int,
  total_steps: int,
  percent: num,
  eta_s: num,
});
export const PreviewSchema = z.object({
  type: z.literal('preview'),
  job_id: str,
  image_path: str,
  step: int,
});
export const JobFinishedSchema = z.object({
  type: z.literal('job_finished'),
  job_id: str,
  success: z.boolean(),
  duration_s: num,
});
export const JobCompleteSchema = z.object({
  type: z.literal('job_complete'),
  job_id: str,
  image_path: str,
  duration_s: num,
  /** extension: PNG bytes when the request asked for `return_image` */
  image: z.instanceof(Uint8Array).optional(),
});

export const UpdateSchema = z.discriminatedUnion('type', [
  JobStartedSchema,
  ProgressSchema,
  PreviewSchema,
  JobFinishedSchema,
  JobCompleteSchema,
  JobErrorSchema,
]);

export type WireGenerateRequest = z.infer<typeof WireGenerateRequestSchema>;
export type WorkerRequest = z.infer<typeof RequestSchema>;
export type WorkerReply = z.infer<typeof ReplySchema>;
export type WorkerUpdate = z.infer<typeof UpdateSchema>;
export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type JobState = z.infer<typeof JobStateSchema>['state'];
export type WorkerMessage = WorkerRequest | WorkerReply | WorkerUpdate;

/**
 * Fields the Python worker packs as float64 even when whole (`2.0`). JS numbers
 * carry no int/float distinction, so `encode` forces these keys to float64.
 */
export const FLOAT_FIELDS: ReadonlySet<string> = new Set([
  'cfg_scale',
  'estimated_time_s',
  'percent',
  'eta_s',
  'duration_s',
  'strength',
]);
