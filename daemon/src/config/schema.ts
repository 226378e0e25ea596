import { z } from 'zod';

/**
 * The daemon's configuration. Sections and defaults follow the original
 * `config/mcp_config.yaml`; `backend.workers`, `backend.path_map`,
 * `backend.return_image`, `state_dir`, `worker` and `sprites` are ours.
 * Keys are the YAML's own snake_case so a config file, an env var
 * (`DGX_PIXELS_<SECTION>_<KEY>`) and an error message all name the same thing.
 */

const endpoint = z
  .string()
  .regex(/^tcp:\/\/[^:/\s]+:\d{1,5}$/, 'expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:5555');
const resolution = z.string().regex(/^\d+x\d+$/, 'expected WIDTHxHEIGHT, e.g. 1024x1024');

/** A daemon's CURVE keys for one worker link (ZeroMQ CURVE: encryption + server authentication). */
export const CurveClientSchema = z.strictObject({
  /** This daemon's secret key file (NAME.key from `dgx-pixels keys generate`, mode 0600). */
  client_key_file: z.string().min(1),
  /** The worker's public key file (the .pub of its --curve-key). */
  server_public_key_file: z.string().min(1),
});

export const WorkerEndpointSchema = z.object({
  /** REQ endpoint (the worker's REP socket). */
  req: endpoint,
  /** PUB endpoint; defaults to the REQ endpoint's port + 1. */
  pub: endpoint.optional(),
  /** Display name in status output; defaults to the REQ endpoint. */
  name: z.string().min(1).optional(),
  /** CURVE keys for this worker (overrides backend.curve); false: plaintext even when backend.curve is set. */
  curve: z.union([CurveClientSchema, z.literal(false)]).optional(),
});

export const ConfigSchema = z.object({
  mcp_server: z
    .object({
      name: z.string().default('dgx-pixels'),
      version: z.string().default('0.1.0'),
      description: z
        .string()
        .default('AI-powered pixel art sprite generation for Bevy game engine'),
      // 'sse' is accepted for old config files and treated as 'http' (Streamable HTTP replaced it).
      transports: z.array(z.enum(['stdio', 'http', 'sse'])).default(['stdio']),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(3000),
      /** Bearer token for the HTTP transport; required when host is not loopback. */
      auth_token: z.string().min(16).optional(),
      /** Origins allowed on the HTTP transport besides loopback ones. */
      allowed_origins: z.array(z.string()).default([]),
    })
    .prefault({}),
  backend: z
    .object({
      zmq_endpoint: endpoint.default('tcp://127.0.0.1:5555'),
      /** PUB endpoint of the single worker; defaults to zmq_endpoint's port + 1. */
      zmq_pub_endpoint: endpoint.optional(),
      /** Several workers (one per GPU); when set it replaces zmq_endpoint. */
      workers: z.array(WorkerEndpointSchema).default([]),
      timeout_s: z.number().positive().default(300),
      /** Reply time-out of one REQ request (not of a generation). */
      request_timeout_ms: z.number().int().positive().default(5000),
      /** A worker that does not answer ping within this is reported unreachable at once. */
      ping_timeout_ms: z.number().int().positive().default(250),
      max_retries: z.number().int().min(0).default(3),
      retry_delay_s: z.number().min(0).default(2.0),
      comfyui_url: z.url().optional(),
      /** Worker-side path prefix → local path prefix, for reading image_path. */
      path_map: z.record(z.string(), z.string()).default({}),
      /** Ask workers to send PNG bytes inline (extension; ignored by the Python worker). */
      return_image: z.boolean().default(true),
      health_interval_ms: z.number().int().positive().default(2000),
      /** Connect to every worker as a CURVE client with these keys (per worker: backend.workers[].curve). */
      curve: CurveClientSchema.optional(),
    })
    .prefault({}),
  generation: z
    .object({
      default_workflow: z.string().default('sprite_optimized.json'),
      workflow_dir: z.string().default('config/workflows'),
      default_resolution: resolution.default('1024x1024'),
      default_steps: z.number().int().positive().default(30),
      default_cfg_scale: z.number().positive().default(7.5),
      default_model: z.string().default('SDXL Base 1.0'),
      default_lora: z.string().optional(),
      /** Where raw worker outputs are kept; relative paths are under state_dir. */
      output_dir: z.string().default('outputs'),
      max_batch_size: z.number().int().positive().default(20),
      batch_timeout_s: z.number().positive().default(600),
      /** Longest a tool call waits before answering {status: "running", job_id}. */
      default_wait_s: z.number().min(0).max(3600).default(50),
    })
    .prefault({}),
  deployment: z
    .object({
      bevy_assets_base: z.string().optional(),
      /** Extra roots a request's bevy_assets_dir may point into. */
      allowed_roots: z.array(z.string()).default([]),
      sprite_subdir: z.string().default('sprites'),
      manifest_file: z.string().default('asset_manifest.json'),
      filename_pattern: z.string().default('{sprite_name}.png'),
      validate_bevy_structure: z.boolean().default(true),
    })
    .prefault({}),
  validation: z
    .object({
      min_prompt_length: z.number().int().min(1).default(3),
      max_prompt_length: z.number().int().positive().default(500),
      allowed_resolutions: z
        .array(resolution)
        .min(1)
        .default(['512x512', '1024x1024', '2048x2048']),
      min_steps: z.number().int().positive().default(10),
      max_steps: z.number().int().positive().default(100),
      min_cfg_scale: z.number().positive().default(1.0),
      max_cfg_scale: z.number().positive().default(20.0),
      allowed_styles: z
        .array(z.string())
        .min(1)
        .default(['pixel_art', '16bit', '8bit', 'retro', 'game_sprite']),
    })
    .prefault({}),
  error_handling: z
    .object({
      detailed_errors: z.boolean().default(true),
      include_stack_trace: z.boolean().default(false),
      retry_on_failure: z.boolean().default(true),
      max_retries: z.number().int().min(0).default(2),
    })
    .prefault({}),
  logging: z
    .object({
      level: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(
          z.enum([
            'trace',
            'debug',
            'info',
            'warning',
            'warn',
            'error',
            'critical',
            'fatal',
            'silent',
          ]),
        )
        .default('info'),
      format: z.string().default('[%(asctime)s] %(levelname)s - %(name)s - %(message)s'),
      log_tool_calls: z.boolean().default(true),
      log_progress: z.boolean().default(true),
    })
    .prefault({}),
  performance: z
    .object({
      cache_enabled: z.boolean().default(false),
      cache_ttl_s: z.number().min(0).default(300),
      connection_pool_size: z.number().int().positive().default(5),
      async_timeout_s: z.number().positive().default(30),
      /** Most jobs the daemon keeps queued or running at once before answering BUSY. */
      max_pending_jobs: z.number().int().positive().default(256),
      /**
       * Worker threads for post-processing (grid, downscale, palette: JavaScript), so
       * batches use several cores and the MCP connection stays responsive; 0 runs it
       * on the main thread. Default min(4, cores).
       */
      postprocess_threads: z.number().int().min(0).max(16).optional(),
    })
    .prefault({}),
  /** The embedded worker (`dgx-pixels worker`). */
  worker: z
    .object({
      engine: z.enum(['procedural', 'comfyui']).default('procedural'),
      req: endpoint.default('tcp://127.0.0.1:5555'),
      pub: endpoint.optional(),
      slots: z.number().int().min(1).max(64).default(1),
      step_ms: z.number().int().min(0).default(20),
      output_dir: z.string().default('worker-outputs'),
      bind_public: z.boolean().default(false),
      /** The worker's secret CURVE key file: REP and PUB become CURVE servers (needs allow_keys_dir). */
      curve_key_file: z.string().min(1).optional(),
      /** Folder of the .pub files of the daemons allowed in (ZAP allow-list). */
      allow_keys_dir: z.string().min(1).optional(),
      /** Allow bind_public without CURVE (a warning is logged). */
      insecure: z.boolean().default(false),
      max_queue: z.number().int().positive().default(1000),
      /** Procedural engine: write <image>.truth.png/.truth.json beside each output (debug). */
      write_ground_truth: z.boolean().default(false),
    })
    .prefault({}),
  /** Daemon state: job journal, raw-output cache, deploy log. Relative to the working directory. */
  state_dir: z.string().default('.dgx-pixels'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type WorkerEndpointConfig = z.infer<typeof WorkerEndpointSchema>;
export type CurveClientConfig = z.infer<typeof CurveClientSchema>;
