#!/usr/bin/env python3
"""The official TRM PyTorch module, timed on the model and batch that `trm bench --export DIR`
writes, so that `trm bench` can be compared with the reference implementation itself.

This script contains no model code: it imports the official one. Clone the official
repository at the commit the project follows and pass the clone's root:

    git clone https://github.com/SamsungSAILMontreal/TinyRecursiveModels OFFICIAL
    git -C OFFICIAL checkout e7b6871
    pip install torch numpy safetensors einops pydantic     # what the imported files need

    trm bench --preset sudoku-mlp --batch-size 16 --export /tmp/b16
    python3 bench/official_bench.py /tmp/b16 --official OFFICIAL [--device cpu|cuda]
        [--dtype f32|bf16] [--compile] [--threads N] [--reps N] [--json]

What it uses from the clone: `TinyRecursiveReasoningModel_ACTV1` (models/recursive_reasoning/
trm.py) with its layers, the loss head `ACTLossHead` with the loss named by `loss_type`
(models/losses.py), the puzzle-embedding optimizer `CastedSparseEmbeddingSignSGD_Distributed`
(models/sparse_embedding.py, run with world_size = 1, which needs no process group) and
`EMAHelper` (models/ema.py). The clone's files are not modified; from the outside:

- the model and every carry are built inside `with torch.device(DEVICE)`, as the official
  trainer does with "cuda" (the model files name no device themselves);
- config.json gets the `batch_size` the official config class requires (the exported
  batch's size) and `forward_dtype` from --dtype ("float32" for f32, "bfloat16" for bf16;
  the official model casts itself; bf16 is meant for cuda);
- Adam-atan2 (the `adam-atan2` package is CUDA-only) is this script's own `AdamAtan2`, the
  published update rule: decoupled weight decay first, Adam moments, then
  p -= lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t)).

Before timing, it checks that the official module computes our numbers: logits and q_halt
after one evaluation step from a fresh carry (max|a - b| / max|b|) and the training loss of
the first step, against `expected.safetensors`; above --tol (default 1e-4 in f32, 5e-2 in
bf16) it exits with status 1. Every parameter and persistent buffer of the official module
must be loaded from weights.safetensors (under `inner.`), and nothing may be left over.

Timings (best of --reps after --warmup untimed calls: 1, or 2 with --compile), in ms:

  eval_step_ms   one supervision step without gradient: the ACT wrapper's forward from a
                 carry, model in eval mode, under torch.inference_mode()
  train_step_ms  one supervision step with gradient, as `trm bench` times it: forward in
                 training mode through the official loss head, backward of loss / batch,
                 sign-SGD on the puzzle rows, Adam-atan2 on the dense parameters, EMA
  single_ms      batch 1, all halt_max_steps supervision steps from a fresh carry, without
                 gradient (one puzzle answered)

The optimizer settings do not change the speed; the defaults are the official Sudoku/Maze
ones (--lr, --puzzle-emb-lr, --weight-decay, --puzzle-emb-weight-decay, --ema-rate; give
--ema-rate 0 for a preset without EMA: every TRM preset of `trm` has one).

--compile applies torch.compile to the ACT wrapper (evaluation) and to the loss head
(training), as the official trainer compiles its loss head. If compiling fails, the JSON
holds "compile_error" and null timings (exit status 0) so that a caller can fall back to
eager; the compiled model's logits are checked as well (max_rel_err_logits_compiled).

JSON keys: eval_step_ms, train_step_ms, single_ms, batch_size, threads, device, dtype,
compiled, max_rel_err_logits, max_rel_err_q_halt, loss_rel_err, peak_rss_mb (peak resident
memory of the process), torch_version.
"""

import argparse
import json
import math
import os
import resource
import sys
import time
import traceback


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export_dir", help="a directory written by `trm bench --export`")
    ap.add_argument("--official", required=True, help="root of a clone of the official TinyRecursiveModels repository")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (or cuda:N)")
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--compile", action="store_true", help="torch.compile the official model and loss head")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls before timing (default 1, 2 with --compile)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--tol", type=float, default=None, help="largest relative error accepted")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.95))
    ap.add_argument("--weight-decay", type=float, default=1.0)
    ap.add_argument("--puzzle-emb-lr", type=float, default=1e-4)
    ap.add_argument("--puzzle-emb-weight-decay", type=float, default=1.0)
    ap.add_argument("--ema-rate", type=float, default=0.999, help="0: no EMA")
    return ap.parse_args()


def import_official(root):
    """The official classes, imported from the clone at `root` (and nowhere else)."""
    root = os.path.abspath(root)
    if not os.path.isfile(os.path.join(root, "models", "recursive_reasoning", "trm.py")):
        sys.exit(f"--official {root}: no models/recursive_reasoning/trm.py there; give the root of a clone of the official repository")
    sys.path.insert(0, root)
    from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1
    from models.losses import ACTLossHead
    from models.sparse_embedding import CastedSparseEmbeddingSignSGD_Distributed
    from models.ema import EMAHelper

    for cls in (TinyRecursiveReasoningModel_ACTV1, ACTLossHead, CastedSparseEmbeddingSignSGD_Distributed, EMAHelper):
        where = os.path.abspath(sys.modules[cls.__module__].__file__)
        if not where.startswith(root + os.sep):
            sys.exit(f"imported {cls.__name__} from {where}, not from {root}: another `models` package shadows it")
    return TinyRecursiveReasoningModel_ACTV1, ACTLossHead, CastedSparseEmbeddingSignSGD_Distributed, EMAHelper


def make_adam_atan2(torch):
    class AdamAtan2(torch.optim.Optimizer):
        """Adam-atan2 (the update rule of the `adam-atan2` package, no epsilon): decoupled
        weight decay, Adam moments, p -= lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))."""

        def __init__(self, params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.0):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
                ps, gs, ms, vs = [], [], [], []
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    st = self.state[p]
                    if not st:
                        st["step"] = 0
                        st["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                        st["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["step"] += 1
                    ps.append(p)
                    gs.append(p.grad)
                    ms.append(st["m"])
                    vs.append(st["v"])
                if not ps:
                    continue
                t = self.state[ps[0]]["step"]
                torch._foreach_mul_(ps, 1.0 - lr * wd)
                torch._foreach_lerp_(ms, gs, 1.0 - b1)
                torch._foreach_mul_(vs, b2)
                torch._foreach_addcmul_(vs, gs, gs, value=1.0 - b2)
                step_size = lr / (1.0 - b1**t)
                bias2_sqrt = math.sqrt(1.0 - b2**t)
                for p, m, v in zip(ps, ms, vs):
                    p.add_(torch.atan2(m, v.sqrt().div_(bias2_sqrt)), alpha=-step_size)

    return AdamAtan2


def rel_err(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    if a.shape != b.shape:
        sys.exit(f"shape mismatch: official {tuple(a.shape)}, ours {tuple(b.shape)}")
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)


def main():
    args = parse_args()
    import torch
    from safetensors.torch import load_file

    Model, LossHead, SignSGD, EMAHelper = import_official(args.official)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA device")

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    d = args.export_dir
    cfg = json.load(open(os.path.join(d, "config.json")))
    if cfg.get("arch", "trm") != "trm":
        sys.exit(f"{d}: arch {cfg.get('arch')!r}; this script covers TRM only")
    weights = load_file(os.path.join(d, "weights.safetensors"))
    batch_cpu = load_file(os.path.join(d, "batch.safetensors"))
    expected = load_file(os.path.join(d, "expected.safetensors"))
    # The official data loader hands int32 tensors to the model.
    batch = {k: v.to(torch.int32).to(dev) for k, v in batch_cpu.items()}
    b = batch["inputs"].shape[0]
    cfg["batch_size"] = b
    cfg["forward_dtype"] = {"f32": "float32", "bf16": "bfloat16"}[args.dtype]
    tol = args.tol if args.tol is not None else (1e-4 if args.dtype == "f32" else 5e-2)

    with dev:
        model = Model(cfg)
        head = LossHead(model, loss_type=cfg.get("loss_type", "stablemax_cross_entropy"))

    # Our weights under the official names (nested under `inner.`), every one used once.
    state = {"inner." + k: v for k, v in weights.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        sys.exit(f"weights do not match the official module: missing {missing}, left over {extra}")
    bad = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
    if bad:
        sys.exit("shape mismatch: " + ", ".join(f"{k} official {tuple(own[k].shape)} ours {tuple(state[k].shape)}" for k in bad))
    model.load_state_dict(state, strict=True)
    # The non-persistent buffers are the RoPE tables (computed) and the sparse embedding's
    # per-batch scratch rows and ids (filled by each training forward).
    for name, _ in model.named_buffers():
        if name not in own and not name.endswith(("cos_cached", "sin_cached", "local_weights", "local_ids")):
            sys.exit(f"buffer {name} is neither loaded nor recomputed")

    def fresh_carry(bt, inference=False):
        """A fresh carry; `inference`: made under inference_mode, as the carries an eval step
        returns (so that a compiled model sees one kind of tensor and does not recompile)."""
        with dev, torch.inference_mode(inference):
            return model.initial_carry(bt)

    # Equality with our implementation, in eager mode.
    model.eval()
    with torch.inference_mode():
        _, out = model(carry=fresh_carry(batch, True), batch=batch)
    err_logits = rel_err(out["logits"], expected["logits"])
    err_q = rel_err(out["q_halt_logits"], expected["q_halt"])
    model.train()
    _, loss, _, _, _ = head(carry=fresh_carry(batch), batch=batch, return_keys=[])
    err_loss = rel_err(loss.reshape(1), expected["loss"].reshape(1))
    model.zero_grad(set_to_none=True)
    del loss, out

    result = {
        "eval_step_ms": None,
        "train_step_ms": None,
        "single_ms": None,
        "batch_size": b,
        "threads": torch.get_num_threads(),
        "device": str(dev),
        "dtype": args.dtype,
        "compiled": bool(args.compile),
        "max_rel_err_logits": err_logits,
        "max_rel_err_q_halt": err_q,
        "loss_rel_err": err_loss,
        "peak_rss_mb": None,
        "torch_version": torch.__version__,
    }

    def emit(status=0):
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        if args.json:
            print(json.dumps(result))
        else:
            for k, v in result.items():
                print(f"{k:<28} {v:.4g}" if isinstance(v, float) else f"{k:<28} {v}")
        sys.exit(status)

    if not all(e <= tol for e in (err_logits, err_q, err_loss)):  # NaN fails too
        print(f"the official module and ours disagree: logits {err_logits:.2e}, q_halt {err_q:.2e}, loss {err_loss:.2e} (tolerance {tol:.0e})", file=sys.stderr)
        emit(1)

    # The training state: the official optimizers and EMA, our Adam-atan2.
    AdamAtan2 = make_adam_atan2(torch)
    optimizers = []
    if cfg.get("puzzle_emb_ndim", 0) > 0:
        optimizers.append(SignSGD(model.puzzle_emb.buffers(), world_size=1, lr=args.puzzle_emb_lr, weight_decay=args.puzzle_emb_weight_decay))
    optimizers.append(AdamAtan2(model.parameters(), lr=args.lr, betas=tuple(args.betas), weight_decay=args.weight_decay))
    ema = None
    if args.ema_rate > 0:
        ema = EMAHelper(mu=args.ema_rate)
        ema.register(model)

    eval_fn, train_fn = model, head
    warmups = 1
    if args.compile:
        eval_fn, train_fn = torch.compile(model), torch.compile(head)
        warmups = 2
    if args.warmup is not None:
        warmups = max(args.warmup, 0)

    one = {k: v[:1] for k, v in batch.items()}

    def eval_step(carry):
        with torch.inference_mode():
            carry, _ = eval_fn(carry=carry, batch=batch)
        return carry

    def train_step(carry):
        carry, loss, _, _, _ = train_fn(carry=carry, batch=batch, return_keys=[])
        ((1.0 / b) * loss).backward()
        for opt in optimizers:  # the official order: puzzle embedding, then the dense weights
            opt.step()
            opt.zero_grad()
        if ema is not None:
            ema.update(model)
        return carry

    def single(_):
        carry = fresh_carry(one, True)
        with torch.inference_mode():
            for _ in range(cfg["halt_max_steps"]):
                carry, _ = eval_fn(carry=carry, batch=one)
        return None

    def timed(fn, carry):
        for _ in range(warmups):
            carry = fn(carry)
        sync()
        best = float("inf")
        for _ in range(max(args.reps, 1)):
            t = time.perf_counter()
            carry = fn(carry)
            sync()
            best = min(best, time.perf_counter() - t)
        return best * 1e3

    try:
        if args.compile:
            model.eval()
            with torch.inference_mode():
                _, out = eval_fn(carry=fresh_carry(batch, True), batch=batch)
            result["max_rel_err_logits_compiled"] = rel_err(out["logits"], expected["logits"])
            del out
        model.eval()
        result["eval_step_ms"] = timed(eval_step, fresh_carry(batch, True))
        model.train()
        result["train_step_ms"] = timed(train_step, fresh_carry(batch))
        model.eval()
        result["single_ms"] = timed(single, None)
    except Exception as e:  # noqa: BLE001 - only compile errors are reported, others re-raised
        if not args.compile:
            raise
        result["compiled"] = False
        result["compile_error"] = f"{type(e).__name__}: {e}".strip()[:2000]
        result["eval_step_ms"] = result["train_step_ms"] = result["single_ms"] = None
        traceback.print_exc(file=sys.stderr)
        emit(0)
    if args.compile and not result["max_rel_err_logits_compiled"] <= tol:
        print(f"the compiled official module disagrees with ours: logits {result['max_rel_err_logits_compiled']:.2e}", file=sys.stderr)
        emit(1)
    emit(0)


if __name__ == "__main__":
    main()
