"""PyTorch on examples/gpt.py's recipe: what the validation loss of that recipe is, apart
from this engine.

The same tiny Shakespeare split, the same random batches (the same numpy streams and
seed), the same learning-rate schedule, gradient clipping and AdamW groups, and the
same initial weights (``nn.models.GPT``'s, loaded into nanoGPT's model written in
PyTorch, ``workloads.torch_gpt``), and the example's model: no biases, as nanoGPT's
train.py (``--bias`` adds them). Prints the estimates every 250 iterations (20 batches)
and after the last one (20 and 200 batches).

    python benchmarks/gpt_torch_reference.py --seed 1337     # about 4 minutes, one core
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples"))

import gpt as example  # noqa: E402  (examples/gpt.py: data, batches, schedule)
import workloads  # noqa: E402

import autograd as ag  # noqa: E402
import nn  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--bias", action="store_true",
                    help="Linear and LayerNorm biases (the example has none)")
    args = ap.parse_args(argv)
    torch = workloads.torch_threads(1)

    tok, train_ids, val_ids = example.load_data()
    splits = {"train": train_ids, "val": val_ids}
    config = dict(vocab_size=tok.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128)
    ag.manual_seed(args.seed)  # as the example: the initial weights from this seed
    ours = nn.models.GPT(**config, dropout=0.0, bias=args.bias)
    model = workloads.torch_gpt(torch, config, bias=args.bias)
    model.load_state_dict({k: torch.from_numpy(np.array(v.data))
                           for k, v in ours.state_dict().items()})
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    rng = np.random.default_rng(args.seed)
    eval_rng = np.random.default_rng(args.seed + 1)

    def estimate(batches: int) -> dict:
        model.eval()
        out = {}
        with torch.no_grad():
            for name, data in splits.items():
                out[name] = float(np.mean([
                    model(*map(torch.from_numpy, example.get_batch(data, 12, 64, eval_rng)))[1]
                    .item() for _ in range(batches)]))
        model.train()
        return out

    t0 = time.perf_counter()
    for it in range(args.iters):
        if it % 250 == 0:
            print(f"iter {it:>5}: {estimate(20)}", flush=True)
        lr = example.get_lr(it, 1e-3, 1e-4, 100, args.iters)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = map(torch.from_numpy, example.get_batch(train_ids, 12, 64, rng))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    final = {"20 batches": estimate(20), "200 batches": estimate(200)}
    print(f"after {args.iters} iterations: {final}; {time.perf_counter() - t0:.0f} s")
    return final


if __name__ == "__main__":
    main()
