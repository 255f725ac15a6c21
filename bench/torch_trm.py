#!/usr/bin/env python3
"""The peer for `trm bench`: the official TRM forward and training step in PyTorch eager
mode (float32, no torch.compile, as the official code runs on a CPU), built from the weights
that `trm bench --export DIR` writes, timed on the same batch.

    trm bench --preset sudoku-mlp --batch-size 16 --export /tmp/b16
    python3 bench/torch_trm.py /tmp/b16 --threads 2 [--json]

DIR holds `config.json` (official keys), `weights.safetensors` (official names),
`batch.safetensors` (inputs, labels, puzzle_identifiers) and `expected.safetensors` (our
logits and q_halt after one evaluation step from a fresh carry, and our training loss),
so the script first checks that both implementations compute the same numbers, then times:

  eval_step_ms   one supervision step without gradient: T*(n+1) applications of the network
  train_step_ms  one supervision step with gradient, stablemax loss, backward, Adam-atan2
                 (official update rule, 3.4), sign-SGD on the puzzle rows, EMA
  single_ms      batch 1, 16 supervision steps without gradient (a single puzzle solved)

The model follows the official TinyRecursiveReasoningModel_ACTV1 (TRM only: attention with
RoPE or learned positions, or the token-mixing mlp_t variant), written out from the
reference description; HRM is not covered.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def rms_norm(x, dim, eps):
    return x * torch.rsqrt(x.square().mean(dim=dim, keepdim=True) + eps)


def swiglu(gate_up, down, h):
    g, u = (h @ gate_up.t()).chunk(2, dim=-1)
    return (F.silu(g) * u) @ down.t()


class Trm(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict()
        self.buffers_ = {}
        for k, v in weights.items():
            if k in ("puzzle_emb.weights", "H_init", "L_init"):
                self.buffers_[k] = v.clone()
            else:
                self.p[k.replace(".", "__")] = torch.nn.Parameter(v.clone())
        d = cfg["hidden_size"]
        self.d = d
        self.P = cfg["puzzle_emb_len"] if cfg.get("puzzle_emb_len", 16) > 0 else -(-cfg["puzzle_emb_ndim"] // d)
        if cfg.get("puzzle_emb_ndim", 0) == 0:
            self.P = 0
        self.S = self.P + cfg["seq_len"]
        self.heads = cfg["num_heads"]
        self.hd = d // self.heads
        self.eps = cfg.get("rms_norm_eps", 1e-5)
        if cfg["pos_encodings"] == "rope" and not cfg.get("mlp_t", False):
            theta = cfg.get("rope_theta", 10000.0)
            inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
            ang = torch.outer(torch.arange(self.S, dtype=torch.float32), inv)
            emb = torch.cat([ang, ang], dim=-1)
            self.cos, self.sin = emb.cos(), emb.sin()
        else:
            self.cos = None

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def embed(self, inputs, ids, rows):
        e = F.embedding(inputs.long(), self.w("embed_tokens.embedding_weight"))
        b = inputs.shape[0]
        if self.P > 0:
            pad = self.P * self.d - rows.shape[-1]
            if pad > 0:
                rows = F.pad(rows, (0, pad))
            e = torch.cat([rows.view(b, self.P, self.d), e], dim=1)
        if self.cfg["pos_encodings"] == "learned":
            e = 0.707106781 * (e + self.w("embed_pos.embedding_weight"))
        return math.sqrt(self.d) * e

    def attention(self, prefix, h):
        b, s, _ = h.shape
        qkv = (h @ self.w(prefix + "self_attn.qkv_proj.weight").t()).view(b, s, 3 * self.heads, self.hd)
        q, k, v = qkv.split(self.heads, dim=2)
        if self.cos is not None:
            def rope(x):
                x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2 :]
                rot = torch.cat([-x2, x1], dim=-1)
                return x * self.cos[None, :, None, :] + rot * self.sin[None, :, None, :]
            q, k = rope(q), rope(k)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v)
        o = o.transpose(1, 2).reshape(b, s, self.heads * self.hd)
        return o @ self.w(prefix + "self_attn.o_proj.weight").t()

    def block(self, i, h):
        pre = f"L_level.layers.{i}."
        if self.cfg.get("mlp_t", False):
            t = h.transpose(1, 2)
            t = rms_norm(t + swiglu(self.w(pre + "mlp_t.gate_up_proj.weight"), self.w(pre + "mlp_t.down_proj.weight"), t), -1, self.eps)
            h = t.transpose(1, 2)
        else:
            h = rms_norm(h + self.attention(pre, h), -1, self.eps)
        return rms_norm(h + swiglu(self.w(pre + "mlp.gate_up_proj.weight"), self.w(pre + "mlp.down_proj.weight"), h), -1, self.eps)

    def level(self, hidden, injection):
        h = hidden + injection
        for i in range(self.cfg["L_layers"]):
            h = self.block(i, h)
        return h

    def recursion(self, x, z_h, z_l):
        for _ in range(self.cfg["L_cycles"]):
            z_l = self.level(z_l, z_h + x)
        return self.level(z_h, z_l), z_l

    def step(self, z_h, z_l, inputs, ids, rows):
        """One supervision step (design 1.6); returns the new (detached) carry, logits, q."""
        x = self.embed(inputs, ids, rows)
        with torch.no_grad():
            for _ in range(self.cfg["H_cycles"] - 1):
                z_h, z_l = self.recursion(x, z_h, z_l)
        z_h, z_l = self.recursion(x, z_h, z_l)
        logits = z_h[:, self.P :] @ self.w("lm_head.weight").t()
        q = z_h[:, 0] @ self.w("q_head.weight").t() + self.w("q_head.bias")
        return z_h.detach(), z_l.detach(), logits, q

    def fresh_carry(self, b):
        shape = (b, self.S, self.d)
        return self.buffers_["H_init"].expand(shape).clone(), self.buffers_["L_init"].expand(shape).clone()


def log_stablemax(x):
    x = x.double()
    s = torch.where(x < 0, 1.0 / (1.0 - x + 1e-30), x + 1.0)
    return torch.log(s / s.sum(dim=-1, keepdim=True))


def act_loss(logits, q, labels):
    mask = labels != -100
    n = mask.sum(-1).clamp_min(1)
    lp = log_stablemax(logits)
    ce = -torch.gather(lp, -1, torch.where(mask, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    lm = (torch.where(mask, ce, 0.0).sum(-1) / n).sum()
    correct = ((logits.argmax(-1) == labels) | ~mask).all(-1)
    qh = F.binary_cross_entropy_with_logits(q[:, 0], correct.to(q.dtype), reduction="sum")
    return lm + 0.5 * qh


class AdamAtan2:
    """The official adam-atan2 update rule (design 3.4), foreach ops on the CPU."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.95), wd=1.0):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.wd = lr, betas[0], betas[1], wd
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        ps = [p for p in self.params if p.grad is not None]
        gs = [p.grad for p in ps]
        idx = [i for i, p in enumerate(self.params) if p.grad is not None]
        m = [self.m[i] for i in idx]
        v = [self.v[i] for i in idx]
        torch._foreach_mul_(ps, 1 - self.lr * self.wd)
        torch._foreach_lerp_(m, gs, 1 - self.b1)
        torch._foreach_mul_(v, self.b2)
        torch._foreach_addcmul_(v, gs, gs, 1 - self.b2)
        c2 = math.sqrt(1 - self.b2 ** self.t)
        step = self.lr / (1 - self.b1 ** self.t)
        for p, mi, vi in zip(ps, m, v):
            p.add_(torch.atan2(mi, vi.sqrt() / c2), alpha=-step)
            p.grad = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    if cfg.get("arch", "trm") != "trm":
        sys.exit("torch_trm.py covers TRM only")
    weights = load_file(os.path.join(args.dir, "weights.safetensors"))
    batch = load_file(os.path.join(args.dir, "batch.safetensors"))
    expected = load_file(os.path.join(args.dir, "expected.safetensors"))
    model = Trm(cfg, weights)
    inputs, labels, ids = batch["inputs"], batch["labels"], batch["puzzle_identifiers"].long()
    b = inputs.shape[0]
    table = model.buffers_.get("puzzle_emb.weights")

    def rows_for(ids, grad=False):
        if table is None:
            return None
        r = table[ids].clone()
        return r.requires_grad_(grad)

    # Equality with our implementation: one evaluation step from a fresh carry.
    z_h, z_l = model.fresh_carry(b)
    with torch.no_grad():
        _, _, logits, q = model.step(z_h, z_l, inputs, ids, rows_for(ids))
    err = (logits - expected["logits"]).abs().max().item() / expected["logits"].abs().max().item()
    err_q = (q[:, 0] - expected["q_halt"]).abs().max().item() / max(expected["q_halt"].abs().max().item(), 1e-6)
    z_h, z_l = model.fresh_carry(b)
    _, _, logits, q = model.step(z_h, z_l, inputs, ids, rows_for(ids, True))
    loss = act_loss(logits, q, labels).item()
    err_loss = abs(loss - expected["loss"].item()) / abs(expected["loss"].item())

    def eval_step(z_h, z_l):
        with torch.no_grad():
            return model.step(z_h, z_l, inputs, ids, rows_for(ids))

    opt = AdamAtan2(model.p.values(), lr=1e-4)
    ema = [p.detach().clone() for p in model.p.values()]

    def train_step(z_h, z_l):
        rows = rows_for(ids, True)
        z_h, z_l, logits, q = model.step(z_h, z_l, inputs, ids, rows)
        (act_loss(logits, q, labels) / b).backward()
        opt.step()
        if rows is not None:
            with torch.no_grad():
                uniq, inv = torch.unique(ids, return_inverse=True)
                g = torch.zeros(len(uniq), rows.shape[1]).index_add_(0, inv, rows.grad)
                table[uniq] = table[uniq] * (1 - 1e-4 * 1.0) - 1e-4 * g.sign()
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in model.p.values()], 0.001)
        return z_h, z_l

    def timed(fn, reps):
        """Best wall time of `reps` calls after one warm-up call (as `trm bench`), in ms."""
        z = model.fresh_carry(b)
        z = fn(*z)[:2]
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            z = fn(*z)[:2]
            best = min(best, time.perf_counter() - t)
        return best * 1e3

    eval_ms = timed(eval_step, args.reps)
    train_ms = timed(train_step, args.reps)
    one = inputs[:1], ids[:1]
    single_ms = float("inf")
    with torch.no_grad():
        z_h, z_l = model.fresh_carry(1)
        model.step(z_h, z_l, one[0], one[1], rows_for(one[1]))  # warm-up
        for _ in range(args.reps):
            z_h, z_l = model.fresh_carry(1)
            t = time.perf_counter()
            for _ in range(cfg["halt_max_steps"]):
                z_h, z_l, _, _ = model.step(z_h, z_l, one[0], one[1], rows_for(one[1]))
            single_ms = min(single_ms, (time.perf_counter() - t) * 1e3)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch_size": b,
        "eval_step_ms": eval_ms,
        "train_step_ms": train_ms,
        "single_ms": single_ms,
        "logits_rel_err": err,
        "q_halt_rel_err": err_q,
        "loss_rel_err": err_loss,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:<16} {v:.4g}" if isinstance(v, float) else f"{k:<16} {v}")
    if max(err, err_q, err_loss) > 1e-3:
        sys.exit(f"the two implementations disagree (logits {err:.2e}, q_halt {err_q:.2e}, loss {err_loss:.2e})")


if __name__ == "__main__":
    main()
