"""Makes tiny_trm.pt, the PyTorch template of the `weights` fuzz target: the tiny model's
safetensors (written by the target with TRM_FUZZ_DUMP=DIR, as DIR/template.safetensors)
saved the way the official trainer saves a checkpoint (torch.save of the state dict of the
compiled ACT loss head: `_orig_mod.model.inner.` keys, bf16 H_init / L_init).

    python3 fuzz/templates/make_torch_template.py DIR/template.safetensors fuzz/templates/tiny_trm.pt
"""
import sys

import torch
from safetensors.torch import load_file

state = load_file(sys.argv[1])
out = {}
for name, t in state.items():
    if name in ("H_init", "L_init"):
        t = t.to(torch.bfloat16)
    out["_orig_mod.model.inner." + name] = t
torch.save(out, sys.argv[2])
