"""PyTorch's side of bench/train/run.sh: the same training step as scalelab's train_step().

    /usr/bin/python3 step.py step FAMILY WIDTH DEPTH BATCH THREADS SECONDS
    /usr/bin/python3 step.py lm WIDTH DEPTH BATCH THREADS SECONDS      (transformer: tokens per second)
prints examples per second of wall time and per second of the process's CPU time.
Same model (models.py), batch, SGD (momentum 0.9, weight decay 5e-4), cross entropy, the learning
rate set every step, and the loss and error count read back every step, as the trainer does.
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from models import build  # noqa: E402


def rate(seconds, body):
    """Calls per second of wall time and per second of this process's CPU time."""
    end = time.perf_counter() + seconds / 5
    while time.perf_counter() < end:
        body()
    calls, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        body()
        calls += 1
    return calls / (time.perf_counter() - start), calls / (time.process_time() - cpu_start)


def lm(width, depth, batch, seconds):
    """Tokens per second of the transformer's training step on random bytes (context 64), with AdamW
    (betas 0.9, 0.95, decay on matrices only) as scalelab's trainer and train/adamw.h do."""
    context = 64
    model = build("transformer", width, depth)
    model.train()
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    kept = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": kept, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    blocks = torch.randint(256, (4096, context + 1), dtype=torch.uint8)
    state = {"order": torch.randperm(4096), "next": 0}

    def step():
        if state["next"] + batch > 4096:
            state["order"], state["next"] = torch.randperm(4096), 0
        for group in opt.param_groups:
            group["lr"] = 1e-3
        index = state["order"][state["next"]:state["next"] + batch]
        state["next"] += batch
        rows = blocks.index_select(0, index)
        x, y = rows[:, :context], rows[:, 1:]
        opt.zero_grad(set_to_none=True)
        logits = model(x).flatten(0, -2)
        y = y.flatten().long()
        loss = F.cross_entropy(logits, y)
        stats = torch.stack([loss.detach().double(), logits.argmax(1).ne(y).sum().double()])
        if not math.isfinite(stats[0].item()):
            raise SystemExit("diverged")
        loss.backward()
        opt.step()
        int(stats[1].item())

    wall, cpu = rate(seconds, step)
    print(f"{wall * batch * context:.1f} {cpu * batch * context:.1f}")


def main():
    if sys.argv[1] == "lm":
        _, _, width, depth, batch, threads, seconds = sys.argv
        torch.set_num_threads(int(threads))
        torch.manual_seed(0)
        return lm(float(width), int(depth), int(batch), float(seconds))
    _, mode, family, width, depth, batch, threads, seconds = sys.argv
    assert mode == "step"
    width, depth, batch, threads, seconds = float(width), int(depth), int(batch), int(threads), float(seconds)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(family, width, depth)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    pool = 4096
    inputs, labels = torch.randn(pool, 1, 28, 28), torch.randint(10, (pool,))
    state = {"order": torch.randperm(pool), "next": 0}

    def step():
        if state["next"] + batch > pool:
            state["order"], state["next"] = torch.randperm(pool), 0
        for group in opt.param_groups:
            group["lr"] = 0.01
        index = state["order"][state["next"]:state["next"] + batch]
        state["next"] += batch
        x, y = inputs.index_select(0, index), labels.index_select(0, index)
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        stats = torch.stack([loss.detach().double(), logits.argmax(1).ne(y).sum().double()])
        if not math.isfinite(stats[0].item()):
            raise SystemExit("diverged")
        loss.backward()
        opt.step()
        int(stats[1].item())

    wall, cpu = rate(seconds, step)
    print(f"{wall * batch:.1f} {cpu * batch:.1f}")


if __name__ == "__main__":
    main()
