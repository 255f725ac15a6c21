"""PyTorch's F.linear on the shapes of crates/trm-model/examples/products.rs (the matrix
products of one mlp_t layer), for the ceiling of a step on the official side.

    python3 bench/products.py [threads]
"""
import sys
import time

import torch
import torch.nn.functional as F


def inner(width):
    return -(-round(4 * 2 / 3 * width) // 256) * 256


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    cases = [("maze-cpu", 64, 82, 64, 6), ("sudoku9-cpu", 64, 82, 64, 6), ("sudoku9-cpu", 1, 82, 64, 6),
             ("sudoku-mlp", 1, 97, 512, 21), ("sudoku-mlp", 16, 97, 512, 21),
             ("sudoku-mlp", 64, 97, 512, 21)]
    print(f"{threads} threads; F.linear on the products of one mlp_t layer, best of 50 (5 when large)")
    for name, b, s, d, apps in cases:
        i, it = inner(d), inner(s)
        shapes = [("channel gate-up", b * s, d, 2 * i), ("channel down", b * s, i, d),
                  ("token gate-up", 2 * it, s, b * d), ("token down", s, it, b * d)]
        layer = 0.0
        for what, m, k, n in shapes:
            x, w = torch.full((m, k), 0.5), torch.full((n, k), 0.25)
            reps = 5 if m * k * n > 1 << 28 else 50
            best = float("inf")
            for _ in range(reps):
                t = time.perf_counter()
                F.linear(x, w)
                best = min(best, time.perf_counter() - t)
            layer += best
            print(f"  {name} b{b} {what:16} [{m}, {k}] x [{k}, {n}]: {best * 1e3:8.3f} ms, "
                  f"{2 * m * k * n / best / 1e9:5.0f} GFLOP/s")
        print(f"{name} b{b}: products of one layer {layer * 1e3:.2f} ms; of one eval step "
              f"({apps} applications of 2 layers) {layer * 2 * apps * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
