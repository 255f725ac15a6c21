#!/usr/bin/env python3
"""Short training traces written by the official TRM code, for the Rust test
crates/trm-train/tests/official_trace.rs (fixtures in crates/trm-train/tests/fixtures/official_trace).

Regenerate the committed fixtures (a few seconds on a CPU):

    git clone https://github.com/SamsungSAILMontreal/TinyRecursiveModels OFFICIAL
    git -C OFFICIAL checkout e7b6871
    pip install torch numpy safetensors einops pydantic     # what the imported files need
    python3 bench/official_trace.py OFFICIAL crates/trm-train/tests/fixtures/official_trace

Options: --steps N (optimizer steps per trace, default 4), --only NAME[,NAME] (some traces),
--vectors DIR (where the reference vectors NAME.json / NAME.safetensors are; default the
repository's crates/trm-model/tests/fixtures/vectors), --dtype (below), and --compare-to DIR
(print how far this run's traces lie from the traces in DIR, on DIR's recorded elements,
with the metrics of the Rust test: how the float32 cost quoted in the fixtures' README was
measured, with --dtype float32 --compare-to a float64 run).

What runs is the official code, imported from the clone (nothing of it is copied here):
the networks `TinyRecursiveReasoningModel_ACTV1` (models/recursive_reasoning/trm.py) and
`HierarchicalReasoningModel_ACTV1` (models/recursive_reasoning/hrm.py) with models/layers.py,
the loss head `ACTLossHead` (models/losses.py), the puzzle-embedding optimizer
`CastedSparseEmbeddingSignSGD_Distributed` (models/sparse_embedding.py, world size 1),
`EMAHelper` (models/ema.py), and from pretrain.py the dataclass `TrainState`, the config class
`PretrainConfig` and the function `train_batch` itself: each step is one call of the official
`train_batch` (carry, ACT loss, loss / global_batch_size backward, the lr of every optimizer
from `compute_lr` / `cosine_schedule_with_warmup_lr_lambda`, the optimizers in the official
order: sign-SGD, then Adam-atan2), followed by `EMAHelper.update`, as in pretrain.py's loop.
Importing pretrain.py needs packages the functions used here never call (wandb, hydra,
omegaconf, coolname, tqdm, yaml, argdantic): where one is not installed, an empty stand-in
module takes its name. The `adam-atan2` package is CUDA-only; `AdamAtan2` below is its update
rule in plain torch (the kernel's formula): decoupled weight decay first, p *= 1 - lr * wd;
m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * atan2(m, sqrt(v) /
sqrt(1 - b2^t)); no epsilon. Adam-atan2 is the one part of a trace this script asserts
rather than the official code, so the Rust test checks it against hand-computed variants.
The model and carry are built on the CPU (the official trainer builds them under
torch.device("cuda"); the model files name no device), the carry before the first
`train_batch` call (which would otherwise make it under "cuda"), and `Tensor.cuda` is the
identity while `train_batch` runs.

Precision. --dtype float64 (the default, what the fixtures hold): parameters, buffers,
activations, optimizer state and EMA are float64 (`forward_dtype = "float64"`, torch's
default dtype float64). The official files cast to float32 in three places (RMSNorm's
internal computation, the RoPE tables, the Q-head output); for this run models/layers.py,
trm.py and hrm.py see a `torch` whose `float32` is float64, so the trace carries no float32
rounding at all. --dtype float64-official-casts is float64 as the reference vectors were
made (a model converted to float64 after construction): RMSNorm and the Q head keep their
float32 casts, the RoPE tables are computed in float32 and held in float64; the first
step's loss then equals the vector's bit for bit.
--dtype float32 runs the official files unchanged in float32. In every mode the first
step's loss and gradients are compared with the vector's (train.step1.*); the script stops
when they lie further apart than the mode explains (float64: 1e-6 on the loss and 1e-4 on
the gradients, the float32 rounding the vectors hold; measured 1.5e-8 and 2.2e-6).

Each trace starts from the weights of a reference vector (`weights.*` of NAME.safetensors)
with halt_exploration_prob 0, the vector's batch0 as the first batch and seeded further
batches. The puzzle table gets extra rows (seeded, of the vector rows' scale) so that some
rows move and others stay. The schedule has a warm-up and a cosine part within the few
steps, so the learning rate differs at every step.

Output per trace NAME (TRM: sudoku_mlp_tiny, maze_att_tiny; HRM: hrm_att_tiny):
NAME.json ({"vector", "model": the official model config, "train": the trainer settings,
"steps", "dtype", "params": the trainable names in order, "sampling", "step1_check"}) and
NAME.safetensors with, for step K = 1..steps (after the optimizer step and the EMA update):

  stepK.batch.{inputs,labels,puzzle_identifiers}  int32, the batch offered to train_batch
  stepK.{loss,lm_loss,q_halt_loss[,q_continue_loss]}  f64 [1], sums over rows (not divided)
  stepK.metrics          f64 [5]: count, accuracy, exact_accuracy, q_halt_accuracy, steps (sums)
  stepK.{halted,steps,current_puzzle_identifiers}  int32 [B], the carry after the step
  stepK.lr, stepK.puzzle_emb_lr  f64 [1], the lr the official code gave each optimizer
  stepK.delta.P          f32, (parameter P now - P at the start) at index.P
  stepK.m.P, stepK.v.P   f32, Adam-atan2 moments at index.P
  stepK.ema_delta.P      f32, (EMA shadow of P - P at the start) at index.P
  stepK.norms.P          f64 [4], over the whole tensor: |delta|_2, |m|_2, |v|_2, |ema_delta|_2
  stepK.puzzle_emb_delta f32 [ids, width], the whole puzzle table minus init.puzzle_emb
  stepK.puzzle_emb_grad  f32 [B, width], the gradient of the carry's puzzle rows (row b: id
                         stepK.current_puzzle_identifiers[b]), of loss / global_batch_size
  init.puzzle_emb        f32 [ids, width], the table at the start (vector rows first)
  index.P                int64, the flat element indices recorded for parameter P

Every parameter is recorded, but not every element (full snapshots of p, m, v and EMA would
take megabytes per step): tensors of at most `max_full` elements whole, larger ones at
`per_tensor` seeded indices, plus the whole-tensor norms. Elements whose first non-zero
gradient is within 1e-3 of zero (relative to the tensor's largest) are left out: Adam-atan2's
first update of an element is lr * sign(g) up to 0.3%, discontinuous at g = 0, so a float32
run may take the other sign there; the reference does not determine such elements. Sign-SGD
has the same discontinuity at every step; stepK.puzzle_emb_grad lets a reader leave those
elements of the table out (the Rust test does).
"""

import argparse
import importlib.machinery
import importlib.util
import json
import math
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VECTORS = os.path.join(HERE, "..", "crates", "trm-model", "tests", "fixtures", "vectors")

# The traces: reference vector, extra puzzle-table rows, trainer settings. Betas and the dense
# weight decay are the official Sudoku/Maze config's; the learning rates are larger than the
# official 1e-4 so that lr * weight_decay (what tells the decay order apart) stands above
# float32 rounding; the puzzle-embedding settings differ per trace; EMA rates are lower than
# the official 0.999 so that the shadow moves visibly in a few steps.
TRACES = {
    "maze_att_tiny": dict(extra_ids=3, lr=3e-3, weight_decay=1.0, puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=1.0, ema_rate=0.9, seed=1),
    "sudoku_mlp_tiny": dict(extra_ids=2, lr=3e-3, weight_decay=1.0, puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=0.5, ema_rate=0.9, seed=2),
    "hrm_att_tiny": dict(extra_ids=2, lr=3e-3, weight_decay=1.0, puzzle_emb_lr=2e-2, puzzle_emb_weight_decay=0.25, ema_rate=0.8, seed=3),
}
BETAS = (0.9, 0.95)
LR_MIN_RATIO = 0.1
MAX_FULL = 512
PER_TENSOR = 128
ILL_CONDITIONED = 1e-3


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("official", help="root of a clone of the official TinyRecursiveModels repository (commit e7b6871)")
    ap.add_argument("out_dir", help="where NAME.json and NAME.safetensors are written")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--only", default="", help="comma-separated trace names (default: all)")
    ap.add_argument("--vectors", default=DEFAULT_VECTORS, help="folder of the reference vectors")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float64-official-casts", "float32"])
    ap.add_argument("--compare-to", default=None, help="a folder of traces to measure this run against")
    return ap.parse_args()


def stub_missing(names):
    """Empty stand-ins for the packages pretrain.py imports but the code used here never calls."""
    for name in names:
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        if name == "hydra":
            mod.main = lambda *a, **k: (lambda fn: fn)
        if name == "omegaconf":
            mod.DictConfig = dict
        if name == "argdantic":
            mod.ArgParser = type("ArgParser", (), {"__init__": lambda self, *a, **k: None})
        if name == "wandb":
            mod.Settings = lambda *a, **k: None
        sys.modules[name] = mod


def make_adam_atan2(torch):
    class AdamAtan2(torch.optim.Optimizer):
        """The adam-atan2 update rule (see the module docstring). Keeps the gradient of the
        last step (`last_grads`) for the conditioning mask."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))
            self.last_grads = {}

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                lr, wd = group["lr"], group["weight_decay"]
                b1, b2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad
                    self.last_grads[p] = g.detach().clone()
                    st = self.state[p]
                    if not st:
                        st["step"] = 0
                        st["exp_avg"] = torch.zeros_like(p)
                        st["exp_avg_sq"] = torch.zeros_like(p)
                    st["step"] += 1
                    t = st["step"]
                    m, v = st["exp_avg"], st["exp_avg_sq"]
                    p.mul_(1.0 - lr * wd)
                    m.mul_(b1).add_(g, alpha=1.0 - b1)
                    v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
                    denom = v.sqrt() / math.sqrt(1.0 - b2**t)
                    p.add_(torch.atan2(m, denom), alpha=-(lr / (1.0 - b1**t)))

    return AdamAtan2


def import_official(root, torch, float64_casts):
    root = os.path.abspath(root)
    if not os.path.isfile(os.path.join(root, "pretrain.py")) or not os.path.isfile(os.path.join(root, "models", "recursive_reasoning", "trm.py")):
        sys.exit(f"{root}: no pretrain.py / models/recursive_reasoning/trm.py there; give the root of a clone of the official repository")
    sys.path.insert(0, root)
    stub_missing(["wandb", "coolname", "tqdm", "yaml", "hydra", "omegaconf", "argdantic"])
    adam = types.ModuleType("adam_atan2")
    adam.__spec__ = importlib.machinery.ModuleSpec("adam_atan2", None)
    adam.AdamATan2 = make_adam_atan2(torch)
    sys.modules["adam_atan2"] = adam
    import pretrain
    import models.layers
    import models.recursive_reasoning.trm as trm
    import models.recursive_reasoning.hrm as hrm
    from models.losses import ACTLossHead
    from models.sparse_embedding import CastedSparseEmbeddingSignSGD_Distributed
    from models.ema import EMAHelper

    for mod in (pretrain, models.layers, trm, hrm, sys.modules[ACTLossHead.__module__], sys.modules[EMAHelper.__module__]):
        if not os.path.abspath(mod.__file__).startswith(root + os.sep):
            sys.exit(f"imported {mod.__name__} from {mod.__file__}, not from {root}: another package shadows it")
    if float64_casts:

        class Float64Torch(types.ModuleType):
            """`torch` for the official model files, its float32 being float64."""

            def __getattr__(self, name):
                return torch.float64 if name == "float32" else getattr(torch, name)

        proxy = Float64Torch("torch")
        for mod in (models.layers, trm, hrm):
            mod.torch = proxy
    return dict(
        pretrain=pretrain,
        trm=trm.TinyRecursiveReasoningModel_ACTV1,
        hrm=hrm.HierarchicalReasoningModel_ACTV1,
        head=ACTLossHead,
        sign_sgd=CastedSparseEmbeddingSignSGD_Distributed,
        ema=EMAHelper,
        adam=adam.AdamATan2,
    )


def seeded_batches(np, rng, cfg, batch0, n):
    """batch0 of the vector, then n - 1 seeded batches (10% of labels ignored; some repeated ids)."""
    b, seq, vocab, ids = batch0["inputs"].shape[0], cfg["seq_len"], cfg["vocab_size"], cfg["num_puzzle_identifiers"]
    out = [{k: batch0[k].astype(np.int32) for k in ("inputs", "labels", "puzzle_identifiers")}]
    for k in range(1, n):
        inputs = rng.integers(1, vocab, size=(b, seq)).astype(np.int32)
        labels = rng.integers(2, vocab, size=(b, seq)).astype(np.int32)
        labels[rng.random((b, seq)) < 0.1] = -100
        pid = rng.integers(0, ids, size=b).astype(np.int32)
        if k % 2 == 1 and b > 1:
            pid[1] = pid[0]
        out.append(dict(inputs=inputs, labels=labels, puzzle_identifiers=pid))
    return out


def rel(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    scale = b.abs().max().item() if b.numel() else 0.0
    d = (a - b).abs().max().item() if b.numel() else 0.0
    return d / scale if scale > 0 else d


def run_trace(name, spec, args, off, torch, np):
    from safetensors.numpy import load_file

    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    torch.set_default_dtype(dtype)
    vec = load_file(os.path.join(args.vectors, name + ".safetensors"))
    cfg = json.load(open(os.path.join(args.vectors, name + ".json")))
    arch = cfg.get("arch", "trm")
    rng = np.random.default_rng(spec["seed"])

    table0 = vec["weights.puzzle_emb.weights"]
    extra = (rng.standard_normal((spec["extra_ids"], table0.shape[1])) * table0.std()).astype(np.float32)
    table = np.concatenate([table0, extra], axis=0)
    cfg["num_puzzle_identifiers"] = table.shape[0]
    cfg["halt_exploration_prob"] = 0.0
    cfg["forward_dtype"] = "float32" if args.dtype == "float32" else "float64"
    batch0 = {k: vec["batch0." + k] for k in ("inputs", "labels", "puzzle_identifiers")}
    b = batch0["inputs"].shape[0]
    cfg["batch_size"] = b
    batches = seeded_batches(np, rng, cfg, batch0, args.steps)

    warmup = args.steps // 2 + 1
    total = args.steps + 2
    train = dict(
        global_batch_size=b, lr=spec["lr"], lr_min_ratio=LR_MIN_RATIO, lr_warmup_steps=warmup, total_steps=total,
        beta1=BETAS[0], beta2=BETAS[1], weight_decay=spec["weight_decay"], puzzle_emb_lr=spec["puzzle_emb_lr"],
        puzzle_emb_weight_decay=spec["puzzle_emb_weight_decay"], ema=True, ema_rate=spec["ema_rate"],
    )
    arch_name = {"trm": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1", "hrm": "recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1"}[arch]
    config = off["pretrain"].PretrainConfig(
        arch=dict(name=arch_name, loss=dict(name="losses@ACTLossHead", loss_type=cfg["loss_type"])),
        data_paths=[], epochs=1, **{k: v for k, v in train.items() if k != "total_steps"},
    )

    with torch.device("cpu"):
        net = (off["trm"] if arch == "trm" else off["hrm"])(cfg)
        head = off["head"](net, loss_type=cfg["loss_type"])
    state = {k[len("weights."):]: torch.from_numpy(v) for k, v in vec.items() if k.startswith("weights.")}
    state["puzzle_emb.weights"] = torch.from_numpy(table)
    net.inner.load_state_dict(state, strict=True)
    if args.dtype == "float64-official-casts" and hasattr(net.inner, "rotary_emb"):
        # As a model converted to float64 after construction holds them (the vectors' way).
        rope = net.inner.rotary_emb
        rope.cos_cached, rope.sin_cached = rope.cos_cached.double(), rope.sin_cached.double()

    SignSGD = off["sign_sgd"]

    class RecordingSignSGD(SignSGD):
        """The official optimizer; keeps the gradient of the batch's puzzle rows."""

        def step(self, closure=None):
            self.last_grad = net.inner.puzzle_emb.local_weights.grad.detach().clone()
            return super().step(closure)

    sign_sgd = RecordingSignSGD(net.inner.puzzle_emb.buffers(), world_size=1, lr=0, weight_decay=config.puzzle_emb_weight_decay)
    adam = off["adam"](head.parameters(), lr=0, weight_decay=config.weight_decay, betas=(config.beta1, config.beta2))
    ema = off["ema"](mu=config.ema_rate)
    ema.register(head)

    params = [(n[len("model.inner."):], p) for n, p in head.named_parameters() if p.requires_grad]
    start = {n: p.detach().clone() for n, p in params}
    train_state = off["pretrain"].TrainState(model=head, optimizers=[sign_sgd, adam], optimizer_lrs=[config.puzzle_emb_lr, config.lr], carry=None, step=0, total_steps=total)

    # The loss head's outputs of each call (train_batch returns metrics divided by the batch).
    seen = {}
    forward = head.forward

    def recording_forward(**kw):
        out = forward(**kw)
        seen["loss"], seen["metrics"] = out[1].detach(), {k: v.detach() for k, v in out[2].items()}
        return out

    head.forward = recording_forward

    tensors = {"init.puzzle_emb": table}
    steps = []
    check = {}
    cuda = torch.Tensor.cuda
    for k, batch in enumerate(batches, start=1):
        tb = {key: torch.from_numpy(v) for key, v in batch.items()}
        if train_state.carry is None:
            train_state.carry = head.initial_carry(tb)
        torch.Tensor.cuda = lambda self, *a, **kw: self
        try:
            off["pretrain"].train_batch(config, train_state, tb, global_batch_size=b, rank=0, world_size=1)
        finally:
            torch.Tensor.cuda = cuda
        ema.update(head)
        assert train_state.step == k

        if k == 1:
            gerr = max(rel(adam.last_grads[p] * b, torch.from_numpy(vec[f"train.step1.grad.{n}"])) for n, p in params)
            gerr = max(gerr, rel(sign_sgd.last_grad * b, torch.from_numpy(vec["train.step1.grad.puzzle_emb.local_weights"])))
            lerr = abs(seen["loss"].item() - float(vec["train.step1.loss"][0])) / abs(float(vec["train.step1.loss"][0]))
            check = dict(loss_rel_err=lerr, grad_rel_err=gerr)
            print(f"{name}: step 1 against the vector's float64 values: loss {lerr:.1e}, gradients {gerr:.1e}")
            # The vectors ran with the official float32 casts: bit for bit the same loss in
            # that mode, gradients within the casts' rounding (the loss is scaled by 1 / B
            # before backward here, not there); in plain float64 within that rounding too.
            limit = {"float64": (1e-6, 1e-4), "float64-official-casts": (1e-12, 1e-5), "float32": (1e-5, 1e-4)}[args.dtype]
            if not (lerr <= limit[0] and gerr <= limit[1]):
                sys.exit(f"{name}: the run does not reproduce the reference vector's first step (limits {limit})")

        m = seen["metrics"]
        p = f"step{k}."
        for key, v in batch.items():
            tensors[p + "batch." + key] = v
        tensors[p + "loss"] = np.array([seen["loss"].item()])
        tensors[p + "lm_loss"] = np.array([m["lm_loss"].item()])
        tensors[p + "q_halt_loss"] = np.array([m["q_halt_loss"].item()])
        if "q_continue_loss" in m:
            tensors[p + "q_continue_loss"] = np.array([m["q_continue_loss"].item()])
        tensors[p + "metrics"] = np.array([float(m[x].item()) for x in ("count", "accuracy", "exact_accuracy", "q_halt_accuracy", "steps")])
        carry = train_state.carry
        tensors[p + "halted"] = carry.halted.to(torch.int32).numpy()
        tensors[p + "steps"] = carry.steps.to(torch.int32).numpy()
        tensors[p + "current_puzzle_identifiers"] = carry.current_data["puzzle_identifiers"].to(torch.int32).numpy()
        tensors[p + "puzzle_emb_lr"] = np.array([float(sign_sgd.param_groups[0]["lr"])])
        tensors[p + "lr"] = np.array([float(adam.param_groups[0]["lr"])])
        tensors[p + "puzzle_emb_grad"] = sign_sgd.last_grad.float().numpy()
        tensors[p + "puzzle_emb_delta"] = (net.inner.puzzle_emb.weights.detach().double() - torch.from_numpy(table).double()).float().numpy()
        snap = {}
        for n, prm in params:
            st = adam.state[prm]
            snap[n] = dict(
                delta=(prm.detach() - start[n]).double().flatten(),
                m=st["exp_avg"].detach().double().flatten().clone(),
                v=st["exp_avg_sq"].detach().double().flatten().clone(),
                ema=(ema.shadow["model.inner." + n].double() - start[n].double()).flatten(),
                grad=adam.last_grads[prm].double().flatten(),
            )
        steps.append(snap)
        print(f"{name}: step {k} loss {seen['loss'].item():.6f} lr {tensors[p + 'lr'][0]:.3e} halted {carry.halted.tolist()} steps {carry.steps.tolist()} ids {tensors[p + 'current_puzzle_identifiers'].tolist()}")

    # The elements recorded: well-conditioned ones (see the docstring), seeded.
    sample_rng = np.random.default_rng(1000 + spec["seed"])
    for n, _ in params:
        size = steps[0][n]["delta"].numel()
        ok = np.ones(size, dtype=bool)
        seen_grad = np.zeros(size, dtype=bool)
        for snap in steps:
            g = snap[n]["grad"].abs().numpy()
            first = (~seen_grad) & (g > 0)
            if g.max() > 0:
                ok &= ~(first & (g < ILL_CONDITIONED * g.max()))
            seen_grad |= g > 0
        good = np.flatnonzero(ok)
        idx = good if size <= MAX_FULL else np.sort(sample_rng.choice(good, size=min(PER_TENSOR, good.size), replace=False))
        tensors["index." + n] = idx.astype(np.int64)
        ti = torch.from_numpy(idx)
        for k, snap in enumerate(steps, start=1):
            s = snap[n]
            for key, src in (("delta", "delta"), ("m", "m"), ("v", "v"), ("ema_delta", "ema")):
                tensors[f"step{k}.{key}.{n}"] = s[src][ti].float().numpy()
            tensors[f"step{k}.norms.{n}"] = np.array([s[x].norm().item() for x in ("delta", "m", "v", "ema")])
        left_out = size - good.size
        if left_out:
            print(f"{name}: {n}: {left_out} of {size} elements ill-conditioned, not recorded")

    meta = dict(
        vector=name,
        official_commit="e7b6871",
        model=cfg,
        train=train,
        steps=args.steps,
        dtype=args.dtype,
        params=[n for n, _ in params],
        sampling=dict(max_full=MAX_FULL, per_tensor=PER_TENSOR, ill_conditioned=ILL_CONDITIONED),
        step1_check=check,
    )
    return meta, tensors


def compare(name, tensors, meta, other_dir, np):
    """This run against the trace in other_dir, on its indices: the Rust test's metrics."""
    from safetensors.numpy import load_file

    ref = load_file(os.path.join(other_dir, name + ".safetensors"))

    def r(a, b):
        a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
        s = np.abs(b).max()
        return float(np.abs(a - b).max() / s) if s > 0 else float(np.abs(a - b).max())

    print(f"{name}: against {other_dir}")
    for k in range(1, meta["steps"] + 1):
        worst = {}
        for n in meta["params"]:
            idx_ref, idx_ours = ref["index." + n], tensors["index." + n]
            pos = {int(i): j for j, i in enumerate(idx_ours)}
            common = [j for j, i in enumerate(idx_ref) if int(i) in pos]
            mine = [pos[int(idx_ref[j])] for j in common]
            for key in ("delta", "m", "v", "ema_delta"):
                e = r(tensors[f"step{k}.{key}.{n}"][mine], ref[f"step{k}.{key}.{n}"][common])
                worst[key] = max(worst.get(key, 0.0), e)
            worst["norms"] = max(worst.get("norms", 0.0), r(tensors[f"step{k}.norms.{n}"], ref[f"step{k}.norms.{n}"]))
        worst["puzzle"] = r(tensors[f"step{k}.puzzle_emb_delta"], ref[f"step{k}.puzzle_emb_delta"])
        worst["loss"] = r(tensors[f"step{k}.loss"], ref[f"step{k}.loss"])
        flags = all((tensors[f"step{k}.{x}"] == ref[f"step{k}.{x}"]).all() for x in ("halted", "steps", "current_puzzle_identifiers"))
        print(f"  step {k}: " + ", ".join(f"{key} {v:.1e}" for key, v in worst.items()) + f", carry {'equal' if flags else 'DIFFERS'}")


def main():
    args = parse_args()
    import numpy as np
    import torch
    from safetensors.numpy import save_file

    torch.manual_seed(0)
    head = os.path.join(args.official, ".git")
    if os.path.exists(head):
        import subprocess

        rev = subprocess.run(["git", "-C", args.official, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        if rev and not rev.startswith("e7b6871"):
            print(f"warning: {args.official} is at {rev[:12]}, the fixtures were made at e7b6871", file=sys.stderr)
    off = import_official(args.official, torch, float64_casts=args.dtype == "float64")
    names = [n for n in args.only.split(",") if n] or list(TRACES)
    for n in names:
        if n not in TRACES:
            sys.exit(f"unknown trace {n}; known: {', '.join(TRACES)}")
    os.makedirs(args.out_dir, exist_ok=True)
    for name in names:
        meta, tensors = run_trace(name, TRACES[name], args, off, torch, np)
        tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        path = os.path.join(args.out_dir, name + ".safetensors")
        save_file(tensors, path)
        with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print(f"{name}: wrote {path} ({os.path.getsize(path) // 1024} KiB)")
        if args.compare_to:
            compare(name, tensors, meta, args.compare_to, np)


if __name__ == "__main__":
    main()
