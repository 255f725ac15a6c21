#!/usr/bin/env python3
"""Helpers of bench/parity.sh, which trains the official TRM code and `trm train` on the same
data with the same settings. Subcommands:

  patch OFFICIAL DEST        copy the official repository to DEST and make its pretrain.py run
                             on a CPU: every "cuda" device becomes "cpu", no pinned memory, and
                             one more logged number per step (train/raw_count, the number of
                             halted rows) so that training accuracies can be pooled over the
                             same windows as trm's. No value the trainer computes changes.
  hydra CONFIG.toml DATA     print the hydra overrides (one per line) that give the official
                             pretrain.py the settings of a trm run's resolved config.toml,
                             training on DATA; settings with no official counterpart are
                             named on stderr
  compare TRM_RUN OFFICIAL   print evaluation and training curves side by side (markdown), and
                             the training time per optimizer step of each
  export MODEL OUT.pt        write a trm model.safetensors as a torch state dict under the
                             names the official trainer saves (`model.inner.` + name), for
                             pretrain.py's load_checkpoint
  checkpoints OUT TRM DATA   the checkpoints-both-ways table of a parity run in OUT, with the
                             trm binary TRM, on the dataset DATA
  data-dir RUN               print the dataset folder a trm run trained on

Needs torch (and safetensors for export); compare and hydra need only the standard library.
"""
import json
import os
import shutil
import re
import statistics
import subprocess
import sys
import tomllib


def patch(official, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(official, dest, ignore=shutil.ignore_patterns(".git", "kaggle", "assets"))
    path = os.path.join(dest, "pretrain.py")
    text = open(path).read()
    edits = [
        ('torch.device("cuda")', 'torch.device("cpu")'),
        ('map_location="cuda"', 'map_location="cpu"'),
        ("v.cuda()", "v.cpu()"),
        ('device="cuda"', 'device="cpu"'),
        ("pin_memory=True", "pin_memory=False"),
        (
            '            reduced_metrics["train/lr"] = lr_this_step\n',
            '            reduced_metrics["train/lr"] = lr_this_step\n'
            '            reduced_metrics["train/raw_count"] = float(count)\n',
        ),
    ]
    for old, new in edits:
        if old not in text:
            sys.exit(f"parity.py patch: {path} has no {old.strip()!r}; is OFFICIAL the official "
                     "repository at commit e7b6871?")
        text = text.replace(old, new)
    open(path, "w").write(text)


# trm [arch] keys that the official arch config takes under the same name.
ARCH_KEYS = ["H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "num_heads",
             "expansion", "pos_encodings", "halt_max_steps", "halt_exploration_prob",
             "puzzle_emb_ndim", "puzzle_emb_len", "forward_dtype", "mlp_t", "no_ACT_continue"]
# trm [train] keys that pretrain.py's config takes under the same name.
TRAIN_KEYS = ["global_batch_size", "epochs", "eval_interval", "min_eval_interval", "lr",
              "lr_min_ratio", "lr_warmup_steps", "beta1", "beta2", "weight_decay",
              "puzzle_emb_lr", "puzzle_emb_weight_decay", "ema", "ema_rate", "seed"]


def hydra(config, data):
    cfg = tomllib.load(open(config, "rb"))
    arch, train = cfg["arch"], cfg["train"]
    if arch["arch"] != "trm":
        sys.exit(f"parity.py hydra: {config}: arch {arch['arch']!r}; the parity run covers TRM only")
    if train.get("path_labels", "dataset") != "dataset":
        sys.exit(f"parity.py hydra: {config}: path_labels = {train['path_labels']!r} has no official "
                 "counterpart; train with --set path_labels=dataset")
    out = ["arch=trm", f"data_paths=[{data}]", "evaluators=[]"]
    out += [f"arch.{k}={arch[k]}" for k in ARCH_KEYS]
    # Not in the official arch yaml: added ('+') only where they differ from its defaults.
    if arch["rms_norm_eps"] != 1e-5:
        out.append(f"+arch.rms_norm_eps={arch['rms_norm_eps']}")
    if arch["rope_theta"] != 10000.0:
        out.append(f"+arch.rope_theta={arch['rope_theta']}")
    out.append(f"arch.loss.loss_type={arch['loss_type']}")
    out += [f"{k}={train[k]}" for k in TRAIN_KEYS]
    print("\n".join(out))
    rest = {k: v for k, v in train.items() if k not in TRAIN_KEYS and k != "path_labels"}
    print(f"parity.py hydra: trm settings with no official counterpart (not passed): {rest}",
          file=sys.stderr)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(trm_run, official):
    ours = read_jsonl(os.path.join(trm_run, "metrics.jsonl"))
    theirs = read_jsonl(os.path.join(official, "metrics.jsonl"))
    our_train = {r["step"]: r for r in ours if r["split"] == "train"}
    our_eval = [r for r in ours if r["split"] == "eval"]
    their_train = {o["step"]: o for o in theirs if "train/lm_loss" in o}
    their_eval = {o["step"]: o for o in theirs if "all/exact_accuracy" in o}
    steps = sorted(our_train)
    window = steps[1] - steps[0] if len(steps) > 1 else 1

    def pooled(end):
        rows = [their_train[s] for s in range(end - window + 1, end + 1) if s in their_train]
        if len(rows) < window:
            return None
        # The official trainer divides accuracies by max(halted rows, 1) and logs count as
        # 1 when some row halted: pool them over the window weighted by the halted rows.
        weights = [r["train/raw_count"] * r["train/count"] for r in rows]
        total = max(sum(weights), 1)
        mean = lambda k: sum(r[k] * w for r, w in zip(rows, weights)) / total
        return {
            "lm_loss": statistics.mean(r["train/lm_loss"] for r in rows),
            "q_halt_loss": statistics.mean(r["train/q_halt_loss"] for r in rows),
            "accuracy": mean("train/accuracy"),
            "exact_accuracy": mean("train/exact_accuracy"),
            "steps": mean("train/steps"),
        }

    fmt = lambda d, k: f"{d[k]:.4f}" if d and k in d else "-"
    print("## Evaluation (test split, EMA weights where the run uses EMA, all supervision steps)\n")
    print("| step | trm exact | official exact | trm token acc. | official token acc. | "
          "trm q_halt acc. | official q_halt acc. |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for step in sorted({r["step"] for r in our_eval} | set(their_eval)):
        r = next((r for r in our_eval if r["step"] == step), None)
        o = their_eval.get(step)
        print(f"| {step} | {fmt(r, 'exact_accuracy')} | {fmt(o, 'all/exact_accuracy')} | "
              f"{fmt(r, 'accuracy')} | {fmt(o, 'all/accuracy')} | {fmt(r, 'q_halt_accuracy')} | "
              f"{fmt(o, 'all/q_halt_accuracy')} |")
    print(f"\n## Training (each row: the {window} steps ending at 'step'; accuracies over halted rows)\n")
    print("| step | trm lm_loss | official lm_loss | trm q_halt_loss | official q_halt_loss | "
          "trm token acc. | official token acc. | trm exact | official exact | trm steps | official steps |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    every = max(1, len(steps) // 15)
    for i, step in enumerate(steps):
        if i % every and step != steps[-1]:
            continue
        r, o = our_train[step], pooled(step)
        if o is None:
            continue
        cells = [f"{r[k]:.4f} | {o[k]:.4f}" for k in ["lm_loss", "q_halt_loss", "accuracy",
                                                     "exact_accuracy", "steps"]]
        print(f"| {step} | " + " | ".join(cells) + " |")

    # Seconds per optimizer step, evaluations left out: trm between consecutive train lines,
    # the official trainer between consecutive steps with no evaluation between them.
    lines = [r for r in ours]
    trm_times = [(b["elapsed_s"] - a["elapsed_s"]) / (b["step"] - a["step"])
                 for a, b in zip(lines, lines[1:]) if a["split"] == b["split"] == "train"]
    their_steps = sorted(their_train)
    their_times = [their_train[b]["wall"] - their_train[a]["wall"]
                   for a, b in zip(their_steps, their_steps[1:])
                   if b == a + 1 and a not in their_eval]
    median = lambda x: f"{statistics.median(x):.3f} s (median of {len(x)})" if x else "n/a"
    print(f"\nTraining time per optimizer step: trm {median(trm_times)}, official {median(their_times)}")


def export(model, out):
    import torch
    from safetensors.torch import load_file
    state = {f"model.inner.{k}": v for k, v in load_file(model).items()}
    torch.save(state, out)


def evaluations(path):
    return {o["step"]: o for o in read_jsonl(path) if "all/exact_accuracy" in o}


def trm_eval(trm, *args):
    out = subprocess.run([trm, "eval", *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def pair(official, ours):
    return (f"{official['all/exact_accuracy']:.4f} / {official['all/accuracy']:.4f} | "
            f"{ours['exact_accuracy']:.4f} / {ours['token_accuracy']:.4f}")


def data_dir(run):
    path = tomllib.load(open(os.path.join(run, "config.toml"), "rb")).get("data", {}).get("path", "")
    print(os.path.abspath(path) if path else os.path.join(os.path.abspath(run), "data"))


def checkpoints(out, trm, data):
    """Both directions, on the test split: every official checkpoint through `trm eval
    --checkpoint` against the official evaluation logged at its step; trm's final model
    through the official evaluation (the run in OUT/official-eval-of-trm) against `trm eval`."""
    config = f"{out}/trm/config.toml"
    logged = evaluations(f"{out}/official/metrics.jsonl")
    print("| weights | official evaluation: exact / token acc. | trm eval: exact / token acc. |")
    print("| --- | ---: | ---: |")
    names = [n for n in os.listdir(f"{out}/official/ckpt") if re.fullmatch(r"step_[0-9]+", n)]
    for name in sorted(names, key=lambda n: int(n[5:])):
        step = int(name[5:])
        if step not in logged:
            continue
        ours = trm_eval(trm, "--checkpoint", f"{out}/official/ckpt/{name}", "--config", config,
                        "--data", data)
        print(f"| official checkpoint {name} (trm eval --checkpoint) | {pair(logged[step], ours)} |")
    theirs = evaluations(f"{out}/official-eval-of-trm/metrics.jsonl")
    if not theirs:
        sys.exit(f"parity.py checkpoints: {out}/official-eval-of-trm/metrics.jsonl has no evaluation")
    ours = trm_eval(trm, "--model", f"{out}/trm")
    print(f"| trm model.safetensors (official load_checkpoint) | {pair(theirs[max(theirs)], ours)} |")


if __name__ == "__main__":
    commands = {"patch": (patch, 2), "hydra": (hydra, 2), "compare": (compare, 2),
                "export": (export, 2),
                "checkpoints": (checkpoints, 3), "data-dir": (data_dir, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) != commands[sys.argv[1]][1] + 2:
        sys.exit(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])
