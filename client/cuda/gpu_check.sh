#!/usr/bin/env bash
# The GPU check of the compaction kernel, for a machine with a GPU and nvcc and nothing else:
# builds the kernel and its checker with nvcc alone, then
#   1. maskfeed-cuda-check (3 fresh seeds): bitwise equality with a CPU reference on random
#      inputs with poisoned outputs, and CUDA-event timings against argsort + gather, for
#      B=256, L=1008, keep=128, D=768, bf16 (one JSON line each);
#   2. when python3 has torch with CUDA: the ctypes binding against maskfeed.compaction (bitwise)
#      and against torch's argsort + gather, 4M's own path (one JSON line).
# Writes the JSON lines to $OUT/gpu_check.jsonl when OUT is set.
#   client/cuda/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
arch=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90)
"$nvcc" -O3 -std=c++17 "${arch[@]}" -I. -Xcompiler -fPIC -shared \
  client/cuda/compaction.cu -o "$out/libmaskfeed_cuda.so"
"$nvcc" -O3 -std=c++17 "${arch[@]}" -I. client/cuda/compaction.cu client/cuda/compaction_check.cu \
  -o "$out/maskfeed-cuda-check"
status=0
for _ in 1 2 3; do
  "$out/maskfeed-cuda-check" | tee -a "$out/gpu_check.jsonl" || status=1
done
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  MASKFEED_CUDA_LIB="$out/libmaskfeed_cuda.so" PYTHONPATH=client/python python3 - <<'PY' | tee -a "$out/gpu_check.jsonl"
import json, os, torch
from maskfeed import compaction, cuda_compaction
g = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
b, length, keep, d = 256, 1008, 128, 768
mask = (torch.rand(b, length, generator=g) >= 0.2).cuda()
x = torch.randn(b, length, d, generator=g).to(torch.bfloat16).cuda()
mod = torch.randint(0, 7, (b, length), generator=g, dtype=torch.int16).cuda()
(got,), index, kept = cuda_compaction.compact(mask, [x], keep)
ref = compaction.encoder(x, torch.zeros_like(x), mask, mod, keep)
equal = (torch.equal(index.long(), ref.index) and torch.equal(kept, ref.mask)
         and torch.equal(got.view(torch.int16), ref.x.view(torch.int16)))

def four_m():  # 4M: argsort of mask + 1e-6 * index, gather, zero the padding
    key = mask.float() + 1e-6 * torch.arange(length, device="cuda")
    idx = torch.argsort(key, dim=1)[:, :keep]
    out = torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, d))
    return out * ~torch.gather(mask, 1, idx).unsqueeze(-1)

def timed(fn, iters=50):
    for _ in range(5): fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters): fn()
    stop.record(); torch.cuda.synchronize()
    return start.elapsed_time(stop) / iters

kernel = timed(lambda: cuda_compaction.compact(mask, [x], keep))
torch_stable = timed(lambda: compaction.encoder(x, torch.zeros_like(x), mask, mod, keep))
argsort = timed(four_m)
print(json.dumps({"bench": "cuda_compaction_torch", "device": torch.cuda.get_device_name(),
                  "bitwise_equal": equal, "kernel_ms": round(kernel, 4),
                  "torch_stable_sort_ms": round(torch_stable, 4),
                  "torch_4m_argsort_gather_ms": round(argsort, 4),
                  "speedup_vs_4m": round(argsort / kernel, 2)}))
if not equal:
    raise SystemExit(1)
PY
else
  echo "gpu_check: python3 has no torch with CUDA here; the CUDA-only check above stands" >&2
fi
exit "$status"
