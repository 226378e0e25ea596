#!/usr/bin/python3
"""Reference frames for every DGX worker message, packed the way the Python
worker packs them: msgpack.packb(d, use_bin_type=True), dict keys in the order
message_protocol.py's to_dict writes them (see shared/protocol/python-capture
for frames captured from the real worker). Writes fixtures/<name>.msgpack and
fixtures/index.json ({name: {direction, content}}; bin values as {"$bin": base64}).
test/protocol/fixtures.test.ts asserts that our encode() gives identical bytes.
Run: /usr/bin/python3 shared/protocol/make_fixtures.py   (needs python3-msgpack)
"""
import base64
import json
import os

import msgpack

JOB = "6f1c2a4e-8b1d-4c3e-9a7f-2d5e8c1b0a93"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef"
                    "0000000049454e44ae426082")
FRAMES = [
    # requests (client -> worker)
    ("req-generate", "req", {"type": "generate", "id": JOB, "prompt": "pixel art knight, 16-bit",
                             "model": "sd_xl_base_1.0.safetensors", "size": [1024, 1024], "steps": 30,
                             "cfg_scale": 7.5}),
    ("req-generate-optional", "req", {"type": "generate", "id": JOB, "prompt": "slime enemy walk cycle",
                                      "model": "sd_xl_base_1.0.safetensors", "size": [512, 512], "steps": 20,
                                      "cfg_scale": 7.0, "lora": "pixel-art-xl-v1.1.safetensors",
                                      "batch_size": 4, "animation_frames": 8, "tileset_grid": [4, 2]}),
    ("req-generate-extensions", "req", {"type": "generate", "id": JOB, "prompt": "treasure chest",
                                        "model": "sd_xl_base_1.0.safetensors", "size": [1024, 1024],
                                        "steps": 24, "cfg_scale": 8.0, "return_image": True, "seed": 1234,
                                        "negative_prompt": "blurry, photo", "style": "16bit"}),
    ("req-cancel", "req", {"type": "cancel", "job_id": JOB}),
    ("req-list_models", "req", {"type": "list_models"}),
    ("req-status", "req", {"type": "status"}),
    ("req-ping", "req", {"type": "ping"}),
    ("req-job_status", "req", {"type": "job_status", "job_id": JOB}),
    # replies (worker -> client)
    ("rep-job_accepted", "rep", {"type": "job_accepted", "job_id": JOB, "estimated_time_s": 2.4000000000000004}),
    ("rep-job_accepted-whole", "rep", {"type": "job_accepted", "job_id": JOB, "estimated_time_s": 3.0}),
    ("rep-job_cancelled", "rep", {"type": "job_cancelled", "job_id": JOB}),
    ("rep-job_error", "rep", {"type": "job_error", "job_id": JOB, "error": "Job not found or already completed"}),
    ("rep-model_list", "rep", {"type": "model_list", "models": [
        {"name": "pixel-art-xl-v1.1.safetensors", "path": "/models/loras/pixel-art-xl-v1.1.safetensors",
         "model_type": "lora", "size_mb": 163},
        {"name": "sd_xl_base_1.0.safetensors", "path": "/models/checkpoints/sd_xl_base_1.0.safetensors",
         "model_type": "checkpoint", "size_mb": 6617},
        {"name": "sdxl_vae.safetensors", "path": "/models/vae/sdxl_vae.safetensors",
         "model_type": "vae", "size_mb": 319}]}),
    ("rep-model_list-empty", "rep", {"type": "model_list", "models": []}),
    ("rep-status_info", "rep", {"type": "status_info", "version": "1.0.0", "queue_size": 3, "active_jobs": 1,
                                "uptime_s": 86400}),
    ("rep-pong", "rep", {"type": "pong"}),
    ("rep-error", "rep", {"type": "error", "message": "Unknown request type: frobnicate"}),
    ("rep-job_state", "rep", {"type": "job_state", "job_id": JOB, "state": "completed",
                              "image_path": "/srv/outputs/%s_1795630848.png" % JOB}),
    ("rep-job_state-failed", "rep", {"type": "job_state", "job_id": JOB, "state": "failed",
                                     "error": "Execution failed: out of memory"}),
    # updates (worker -> client, PUB)
    ("pub-job_started", "pub", {"type": "job_started", "job_id": JOB, "timestamp": 1795630845}),
    ("pub-progress", "pub", {"type": "progress", "job_id": JOB, "stage": "sampling", "step": 0,
                             "total_steps": 20, "percent": 12.5, "eta_s": 14.5}),
    ("pub-progress-last", "pub", {"type": "progress", "job_id": JOB, "stage": "post_processing", "step": 100,
                                  "total_steps": 20, "percent": 2.0, "eta_s": 0.0}),
    ("pub-preview", "pub", {"type": "preview", "job_id": JOB, "image_path": "/srv/outputs/preview_5.png",
                            "step": 5}),
    ("pub-job_finished", "pub", {"type": "job_finished", "job_id": JOB, "success": True,
                                 "duration_s": 2.398181676864624}),
    ("pub-job_finished-failed", "pub", {"type": "job_finished", "job_id": JOB, "success": False, "duration_s": 0.0}),
    ("pub-job_complete", "pub", {"type": "job_complete", "job_id": JOB,
                                 "image_path": "/srv/outputs/%s_1795630848.png" % JOB,
                                 "duration_s": 2.534271478652954}),
    ("pub-job_complete-image", "pub", {"type": "job_complete", "job_id": JOB,
                                       "image_path": "/srv/outputs/%s_1795630848.png" % JOB,
                                       "duration_s": 1.0, "image": PNG}),
    ("pub-job_error", "pub", {"type": "job_error", "job_id": JOB,
                              "error": "Execution failed: Failed to queue prompt: 400 Client Error: Bad Request "
                                       "for url: http://127.0.0.1:8188/prompt"}),
]


def to_json(value):
    if isinstance(value, bytes):
        return {"$bin": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(here, exist_ok=True)
    index = {}
    for name, direction, content in FRAMES:
        with open(os.path.join(here, name + ".msgpack"), "wb") as f:
            f.write(msgpack.packb(content, use_bin_type=True))
        index[name] = {"direction": direction, "content": to_json(content)}
    with open(os.path.join(here, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
