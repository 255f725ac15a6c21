"""Stand-in for the `adam-atan2` package, whose only build is a CUDA kernel, so that the
official pretrain.py imports and trains on a CPU (bench/parity.sh puts this folder on
PYTHONPATH). `AdamATan2` applies the kernel's update rule in plain torch, per parameter:

    p <- p * (1 - lr * weight_decay)                  # decoupled decay, first
    m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))   # no epsilon
"""
import math

import torch
from torch.optim.optimizer import Optimizer


class AdamATan2(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2):
        if lr < 0:
            raise ValueError(f"lr must not be negative, got {lr}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, decay = group["lr"], group["weight_decay"]
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - lr * decay)
                m.lerp_(p.grad, 1 - b1)
                v.lerp_(p.grad * p.grad, 1 - b2)
                p.add_(torch.atan2(m, v.sqrt() / math.sqrt(1 - b2**t)), alpha=-lr / (1 - b1**t))
