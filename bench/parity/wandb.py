"""Stand-in for wandb when bench/parity.sh trains the official code: nothing is uploaded;
every `wandb.log` call becomes one JSON line (the logged dict flattened with '/' keys, plus
`step` and `wall`, seconds since import) appended to the file named by $METRICS_OUT. `run` is
set by `init`, so the official trainer also writes all_config.yaml beside its checkpoints."""
import json
import os
import time

_start = time.time()
run = None


class Settings:
    def __init__(self, *args, **kwargs):
        pass


class _Run:
    def log_code(self, *args, **kwargs):
        pass


def init(*args, **kwargs):
    global run
    run = _Run()
    return run


def _flatten(d, prefix=""):
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            try:
                out[prefix + key] = float(value)
            except (TypeError, ValueError):
                out[prefix + key] = str(value)
    return out


def log(metrics, step=None, **kwargs):
    line = json.dumps({"step": step, "wall": time.time() - _start, **_flatten(metrics)})
    path = os.environ.get("METRICS_OUT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def finish(*args, **kwargs):
    pass
