import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A ComfyUI stand-in on 127.0.0.1 (HTTP + websocket) with the real server's
 * response shapes (ComfyUI server.py): POST /prompt → {prompt_id, number,
 * node_errors} or 400 {error: {type, message, details, extra_info},
 * node_errors}; GET /history/{id}; GET /queue {queue_running, queue_pending};
 * POST /queue {delete}; POST /interrupt; GET /view; GET /models/{folder};
 * GET /system_stats; websocket /ws?clientId= with status, execution_start,
 * execution_cached, executing, progress, executed, execution_success,
 * execution_error and execution_interrupted events; POST /upload/image
 * (multipart: `image` file, `type`, `subfolder`, `overwrite`, answering {name,
 * subfolder, type}, renaming `x (1).png` on a clash unless overwrite, like
 * server.py `image_upload`); GET /object_info/{class} ({} for an unknown node).
 * /prompt validates LoadImage / LoadImageMask names against the uploaded files
 * (value_not_in_list, as ComfyUI's combo check does). Prompts run one at a
 * time, `stepMs` per sampler step; images are solid PNGs of the latent size, or,
 * for a graph that encodes a LoadImage (img2img), that uploaded image itself.
 */

export interface FakeComfyOptions {
  stepMs?: number;
  checkpoints?: string[];
  loras?: string[];
  /** Refuse websocket upgrades (the worker must fall back to /history polling). */
  noWebSocket?: boolean;
  /** Fail execution in the first node of this class_type with this message. */
  failInNode?: { classType: string; message: string };
  /** Custom node classes installed besides the core ones (e.g. the IP-Adapter nodes), for /object_info. */
  customNodes?: string[];
}

/** Core node classes the fake lists in /object_info. */
const CORE_NODES = [
  'CheckpointLoaderSimple',
  'LoraLoader',
  'CLIPTextEncode',
  'EmptyLatentImage',
  'KSampler',
  'KSamplerAdvanced',
  'VAEDecode',
  'VAEEncode',
  'VAEEncodeForInpaint',
  'SetLatentNoiseMask',
  'LoadImage',
  'LoadImageMask',
  'ImageBatch',
  'SaveImage',
  'PreviewImage',
];

/** One file received by POST /upload/image. */
export interface UploadedFile {
  name: string;
  subfolder: string;
  type: string;
  bytes: Buffer;
}

interface Prompt {
  number: number;
  id: string;
  graph: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  clientId: string | undefined;
  interrupted: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export class FakeComfyUI {
  url = '';
  readonly requests: RecordedRequest[] = [];
  /** Graphs received by POST /prompt, in order. */
  readonly prompts: Prompt['graph'][] = [];
  readonly history = new Map<string, Record<string, unknown>>();
  /** Files received by /upload/image, keyed `type/subfolder/name`. */
  readonly uploads = new Map<string, UploadedFile>();
  private readonly images = new Map<string, Buffer>();
  private readonly sockets = new Map<string, WebSocket>();
  private readonly pending: Prompt[] = [];
  private running: Prompt | undefined;
  private number = 0;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly o: Required<Omit<FakeComfyOptions, 'failInNode'>> & {
    failInNode: FakeComfyOptions['failInNode'];
  };
  private readonly nodes: Set<string>;

  constructor(options: FakeComfyOptions = {}) {
    this.o = {
      stepMs: options.stepMs ?? 5,
      checkpoints: options.checkpoints ?? ['sd_xl_base_1.0.safetensors'],
      loras: options.loras ?? ['pixel-art-xl.safetensors'],
      noWebSocket: options.noWebSocket ?? false,
      failInNode: options.failInNode,
      customNodes: options.customNodes ?? [],
    };
    this.nodes = new Set([...CORE_NODES, ...this.o.customNodes]);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.route(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (this.o.noWebSocket || url.pathname !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss?.handleUpgrade(req, socket, head, (ws) => {
        const sid = url.searchParams.get('clientId') ?? randomUUID().replace(/-/g, '');
        this.sockets.set(sid, ws);
        ws.on('close', () => this.sockets.delete(sid));
        ws.send(
          JSON.stringify({
            type: 'status',
            data: { status: { exec_info: { queue_remaining: this.pending.length } }, sid },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets.values()) ws.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(path));
  }

  private send(prompt: Prompt, type: string, data: Record<string, unknown>): void {
    const ws = prompt.clientId === undefined ? undefined : this.sockets.get(prompt.clientId);
    ws?.send(JSON.stringify({ type, data: { ...data, prompt_id: prompt.id } }));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let body: unknown;
    let form: FormData | undefined;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks);
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('multipart/form-data')) {
        // aiohttp's request.post() in server.py; undici parses the same wire format
        form = await new Response(raw, { headers: { 'content-type': type } })
          .formData()
          .catch(() => undefined);
        body =
          form === undefined
            ? '(bad multipart)'
            : Object.fromEntries(
                [...form.entries()].map(([k, v]) => [
                  k,
                  typeof v === 'string' ? v : `(file ${v.name})`,
                ]),
              );
      } else {
        const text = raw.toString('utf8');
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = text;
        }
      }
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, body });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const p = url.pathname;
    if (req.method === 'GET' && p === '/system_stats') {
      return json(200, {
        system: {
          os: 'posix',
          ram_total: 64e9,
          ram_free: 32e9,
          comfyui_version: '0.3.40',
          python_version: '3.11.9',
          embedded_python: false,
        },
        devices: [
          {
            name: 'cuda:0 NVIDIA GB10 : cudaMallocAsync',
            type: 'cuda',
            index: 0,
            vram_total: 128e9,
            vram_free: 100e9,
          },
        ],
      });
    }
    if (req.method === 'GET' && p.startsWith('/models/')) {
      const folder = p.slice('/models/'.length);
      const lists: Record<string, string[]> = {
        checkpoints: this.o.checkpoints,
        loras: this.o.loras,
        vae: [],
      };
      const list = lists[folder];
      return list === undefined ? void res.writeHead(404).end('404: Not Found') : json(200, list);
    }
    if (req.method === 'POST' && p === '/prompt') return this.queuePrompt(body, json);
    if (req.method === 'POST' && p === '/upload/image') return this.upload(form, res, json);
    if (req.method === 'GET' && p.startsWith('/object_info/')) {
      const cls = decodeURIComponent(p.slice('/object_info/'.length));
      return json(
        200,
        this.nodes.has(cls)
          ? { [cls]: { name: cls, display_name: cls, input: { required: {} }, output: [] } }
          : {},
      );
    }
    if (req.method === 'GET' && p.startsWith('/history/')) {
      const id = decodeURIComponent(p.slice('/history/'.length));
      const entry = this.history.get(id);
      return json(200, entry === undefined ? {} : { [id]: entry });
    }
    if (req.method === 'GET' && p === '/queue') {
      const item = (q: Prompt) => [q.number, q.id, q.graph, { client_id: q.clientId }, ['9']];
      return json(200, {
        queue_running: this.running ? [item(this.running)] : [],
        queue_pending: this.pending.map(item),
      });
    }
    if (req.method === 'POST' && p === '/queue') {
      const ids = ((body as { delete?: string[] } | undefined)?.delete ?? []) as string[];
      for (const id of ids) {
        const i = this.pending.findIndex((q) => q.id === id);
        if (i >= 0) this.pending.splice(i, 1);
      }
      return void res.writeHead(200).end();
    }
    if (req.method === 'POST' && p === '/interrupt') {
      const target = (body as { prompt_id?: string } | undefined)?.prompt_id;
      if (this.running && (target === undefined || target === this.running.id))
        this.running.interrupted = true;
      return void res.writeHead(200).end();
    }
    if (req.method === 'GET' && p === '/view') {
      const img = this.images.get(
        `${url.searchParams.get('type')}/${url.searchParams.get('subfolder')}/${url.searchParams.get('filename')}`,
      );
      if (img === undefined) return void res.writeHead(404).end('404: Not Found');
      return void res.writeHead(200, { 'content-type': 'image/png' }).end(img);
    }
    res.writeHead(404).end('404: Not Found');
  }

  /** server.py `image_upload`: 400 without an `image` file or a name; rename on a clash unless overwrite. */
  private async upload(
    form: FormData | undefined,
    res: ServerResponse,
    json: (status: number, value: unknown) => void,
  ): Promise<void> {
    const image = form?.get('image');
    if (form === undefined || image === null || image === undefined || typeof image === 'string')
      return void res.writeHead(400).end();
    if (image.name === '') return void res.writeHead(400).end();
    const type = String(form.get('type') ?? 'input');
    if (!['input', 'temp', 'output'].includes(type)) return void res.writeHead(400).end();
    const subfolder = String(form.get('subfolder') ?? '');
    if (subfolder.split('/').includes('..')) return void res.writeHead(400).end();
    const overwrite = form.get('overwrite');
    const bytes = Buffer.from(await image.arrayBuffer());
    let name = image.name;
    if (overwrite !== 'true' && overwrite !== '1') {
      const dot = name.lastIndexOf('.');
      const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
      for (let i = 1; ; i++) {
        const existing = this.uploads.get(`${type}/${subfolder}/${name}`);
        if (existing === undefined || existing.bytes.equals(bytes)) break;
        name = `${stem} (${i})${ext}`;
      }
    }
    this.uploads.set(`${type}/${subfolder}/${name}`, { name, subfolder, type, bytes });
    json(200, { name, subfolder, type });
  }

  /** An uploaded input file by the name a LoadImage node gives (`subfolder/name` or `name`). */
  uploaded(loadName: string): UploadedFile | undefined {
    const slash = loadName.lastIndexOf('/');
    const sub = slash < 0 ? '' : loadName.slice(0, slash);
    return this.uploads.get(`input/${sub}/${loadName.slice(slash + 1)}`);
  }

  private queuePrompt(body: unknown, json: (status: number, value: unknown) => void): void {
    const b = body as { prompt?: Prompt['graph']; client_id?: string } | undefined;
    if (b?.prompt === undefined) {
      json(400, {
        error: {
          type: 'no_prompt',
          message: 'No prompt provided',
          details: 'No prompt provided',
          extra_info: {},
        },
        node_errors: {},
      });
      return;
    }
    const nodeErrors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(b.prompt)) {
      const check = (input: string, allowed: string[]) => {
        const v = node.inputs[input];
        if (typeof v === 'string' && !allowed.includes(v)) {
          nodeErrors[id] = {
            errors: [
              {
                type: 'value_not_in_list',
                message: 'Value not in list',
                details: `${input}: '${v}' not in ${JSON.stringify(allowed)}`,
                extra_info: { input_name: input, received_value: v },
              },
            ],
            dependent_outputs: ['9'],
            class_type: node.class_type,
          };
        }
      };
      if (!this.nodes.has(node.class_type)) {
        nodeErrors[id] = {
          errors: [
            {
              type: 'invalid_prompt',
              message: `Cannot execute because node ${node.class_type} does not exist.`,
              details: `Node ID '#${id}'`,
              extra_info: {},
            },
          ],
          dependent_outputs: [],
          class_type: node.class_type,
        };
      }
      if (node.class_type === 'LoadImage' || node.class_type === 'LoadImageMask') {
        const inputs = [...this.uploads.values()]
          .filter((u) => u.type === 'input')
          .map((u) => (u.subfolder === '' ? u.name : `${u.subfolder}/${u.name}`));
        check('image', inputs);
      }
      if (node.class_type === 'CheckpointLoaderSimple') check('ckpt_name', this.o.checkpoints);
      if (node.class_type === 'LoraLoader') check('lora_name', this.o.loras);
    }
    if (Object.keys(nodeErrors).length > 0) {
      json(400, {
        error: {
          type: 'prompt_outputs_failed_validation',
          message: 'Prompt outputs failed validation',
          details: '',
          extra_info: {},
        },
        node_errors: nodeErrors,
      });
      return;
    }
    const prompt: Prompt = {
      number: this.number++,
      id: randomUUID(),
      graph: b.prompt,
      clientId: b.client_id,
      interrupted: false,
    };
    this.prompts.push(b.prompt);
    this.pending.push(prompt);
    json(200, { prompt_id: prompt.id, number: prompt.number, node_errors: {} });
    if (this.running === undefined) void this.runQueue();
  }

  private async runQueue(): Promise<void> {
    for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
      this.running = next;
      await this.execute(next);
      this.running = undefined;
    }
  }

  private async execute(p: Prompt): Promise<void> {
    const messages: [string, Record<string, unknown>][] = [];
    const event = (type: string, data: Record<string, unknown>) => {
      messages.push([type, { ...data, prompt_id: p.id, timestamp: Date.now() }]);
      this.send(p, type, data);
    };
    const fail = (
      type: 'execution_error' | 'execution_interrupted',
      data: Record<string, unknown>,
    ) => {
      event(type, data);
      this.history.set(p.id, {
        prompt: [p.number, p.id, p.graph, {}, ['9']],
        outputs: {},
        status: { status_str: 'error', completed: false, messages },
      });
    };
    event('execution_start', {});
    event('execution_cached', { nodes: [] });
    const order = [
      'CheckpointLoaderSimple',
      'LoraLoader',
      'IPAdapterUnifiedLoader',
      'CLIPTextEncode',
      'LoadImage',
      'LoadImageMask',
      'ImageBatch',
      'IPAdapter',
      'EmptyLatentImage',
      'VAEEncode',
      'SetLatentNoiseMask',
      'KSampler',
      'VAEDecode',
      'SaveImage',
    ];
    const nodes = Object.entries(p.graph).sort(
      ([, a], [, b]) => order.indexOf(a.class_type) - order.indexOf(b.class_type),
    );
    const executed: string[] = [];
    const outputs: Record<
      string,
      { images: { filename: string; subfolder: string; type: string }[] }
    > = {};
    for (const [id, node] of nodes) {
      if (p.interrupted)
        return fail('execution_interrupted', { node_id: id, node_type: node.class_type, executed });
      this.send(p, 'executing', { node: id, display_node: id });
      if (this.o.failInNode?.classType === node.class_type) {
        return fail('execution_error', {
          node_id: id,
          node_type: node.class_type,
          executed,
          exception_message: this.o.failInNode.message,
          exception_type: 'RuntimeError',
          traceback: ['...'],
          current_inputs: {},
          current_outputs: {},
        });
      }
      if (node.class_type === 'KSampler') {
        const steps = Number(node.inputs.steps);
        for (let v = 1; v <= steps; v++) {
          await new Promise((r) => setTimeout(r, this.o.stepMs));
          if (p.interrupted)
            return fail('execution_interrupted', {
              node_id: id,
              node_type: node.class_type,
              executed,
            });
          this.send(p, 'progress', { value: v, max: steps, node: id });
        }
      }
      if (node.class_type === 'SaveImage') {
        const latent =
          Object.values(p.graph).find((n) => n.class_type === 'EmptyLatentImage')?.inputs ?? {};
        // img2img: the picture encoded into the latent comes back (as if denoise were 0)
        const encode = Object.values(p.graph).find((n) => n.class_type === 'VAEEncode');
        const link = encode?.inputs.pixels;
        const source = Array.isArray(link) ? p.graph[String(link[0])] : undefined;
        const init =
          source?.class_type === 'LoadImage'
            ? this.uploaded(String(source.inputs.image))
            : undefined;
        const images = [];
        for (let i = 0; i < Number(latent.batch_size ?? 1); i++) {
          const filename = `dgx-pixels_${String(this.number * 100 + i).padStart(5, '0')}_.png`;
          const seed = Number(
            Object.values(p.graph).find((n) => n.class_type === 'KSampler')?.inputs.seed ?? 0,
          );
          const png =
            init !== undefined
              ? await sharp(init.bytes).png().toBuffer()
              : await sharp({
                  create: {
                    width: Number(latent.width ?? 64),
                    height: Number(latent.height ?? 64),
                    channels: 3,
                    background: { r: seed % 256, g: (i * 40) % 256, b: 128 },
                  },
                })
                  .png()
                  .toBuffer();
          this.images.set(`output//${filename}`, png);
          images.push({ filename, subfolder: '', type: 'output' });
        }
        outputs[id] = { images };
        this.send(p, 'executed', { node: id, display_node: id, output: { images } });
      }
      executed.push(id);
    }
    this.send(p, 'executing', { node: null });
    event('execution_success', {});
    this.history.set(p.id, {
      prompt: [p.number, p.id, p.graph, {}, ['9']],
      outputs,
      status: { status_str: 'success', completed: true, messages },
      meta: {},
    });
  }
}

/** Start a fake ComfyUI on a free loopback port; close it in afterEach. */
export async function startFakeComfyUI(options: FakeComfyOptions = {}): Promise<FakeComfyUI> {
  const f = new FakeComfyUI(options);
  await f.start();
  return f;
}
