"""Outgrow it: train here, continue on PyTorch's distributed engine, come back.

A model trained with this library is an ordinary PyTorch model one call away:

1. an MLP 64-128-10 (tanh) learns the bundled 8x8 digits with our SGD, on the
   autograd engine;
2. ``nn.to_torch(model)`` builds the same network as a ``torch.nn.Module``
   (same layers, same weights, same state_dict keys);
3. PyTorch continues the training with ``DistributedDataParallel``: two
   processes on this machine (``torch.multiprocessing.spawn``, the gloo
   backend over the loopback interface 127.0.0.1 and a free port), each
   computing the gradient of its half of every batch; DDP averages the two
   gradients (an all-reduce) before each step, so both copies stay identical;
4. ``nn.from_torch(...)`` brings the trained network back, and our evaluation
   of it equals PyTorch's: the same accuracy, logits equal up to float32
   rounding.

Prints the accuracies after each stage and the largest difference between our
logits and PyTorch's; writes the trained weights to --out as outgrow.npz
(``nn.load`` reads them back; ``torch.load`` is not needed). Needs PyTorch:
``pip install torch==2.13.0``.

With ``--model gpt`` the same trip for a model with its own forward: a small
character-level ``nn.models.GPT`` learns tiny Shakespeare (``nn.text.CharTokenizer``)
here, ``nn.to_torch(model, (idx, targets))`` traces its forward into a torch
module that returns (logits, loss) as nanoGPT's does, DDP on two processes
continues the training (each process draws its own half of every batch), and the
trained weights come back by state_dict into a fresh ``nn.models.GPT``: the
names are nanoGPT's, so nothing is renamed. Both libraries' logits and
validation losses are compared; the weights go to --out as outgrow_gpt.npz.

    python examples/outgrow.py            # 10 epochs here, 10 on two processes
    python examples/outgrow.py --quick    # 2 + 2 epochs
    python examples/outgrow.py --model gpt            # 150 steps here, 150 with DDP
    python examples/outgrow.py --model gpt --quick    # 15 + 15 steps
"""

from __future__ import annotations

import copy
import gc
import os
import socket
import sys
from typing import Any

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import make_parser, out_dir, print_table, quick_default

import autograd as ag
import nn
from nn import functional as F

WORLD_SIZE = 2  # processes, one gradient share each


def split(X: np.ndarray, y: np.ndarray, seed: int, test_fraction: float = 0.2):
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the samples for testing."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def train_here(model: nn.MLP, X: np.ndarray, y: np.ndarray, epochs: int, lr: float,
               seed: int) -> None:
    """Mini-batch SGD with momentum on our engine."""
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loader = nn.data.DataLoader(X, y, batch_size=32, shuffle=True, seed=seed)
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        print(f"  here,  epoch {epoch + 1}: loss {total / len(X):.4f}", flush=True)


def free_port() -> int:
    """A TCP port nobody listens on now: the OS picks one when we bind to port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_worker(rank: int, port: int, shared: Any, X: Any, y: Any, epochs: int, lr: float,
               seed: int) -> None:
    """One of the WORLD_SIZE processes: train a copy of ``shared`` with DDP; rank 0 writes
    the result back into ``shared`` (which lives in shared memory)."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    join_group(rank, port)
    try:
        model = copy.deepcopy(shared)  # this process's own weights (equal to start with)
        ddp = DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=0.9)
        sampler = DistributedSampler(TensorDataset(X, y), num_replicas=WORLD_SIZE, rank=rank,
                                     shuffle=True, seed=seed)
        # each process takes half of a batch of 32: the averaged gradient is the batch's
        loader = DataLoader(TensorDataset(X, y), batch_size=32 // WORLD_SIZE, sampler=sampler)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)  # a new shuffle every epoch, the same in both processes
            total = torch.zeros(2, dtype=torch.float64)
            for xb, yb in loader:
                loss = torch.nn.functional.cross_entropy(ddp(xb), yb)
                opt.zero_grad()
                loss.backward()  # DDP all-reduces the gradients here
                opt.step()
                total += torch.tensor([loss.item() * len(yb), len(yb)], dtype=torch.float64)
            dist.all_reduce(total)  # the epoch's loss over both processes' samples
            if rank == 0:
                print(f"  DDP x{WORLD_SIZE}, epoch {epoch + 1}: loss "
                      f"{(total[0] / total[1]).item():.4f}", flush=True)
        keep_rank0(rank, model, shared)
        del ddp, opt  # DDP's reducer goes before the group it talks through
        gc.collect()
        dist.barrier()  # both processes done with the group before either tears it down
    finally:
        dist.destroy_process_group()


def join_group(rank: int, port: int) -> None:
    """Join the WORLD_SIZE processes' gloo group on the loopback interface."""
    import torch
    import torch.distributed as dist

    os.environ["MASTER_ADDR"] = "127.0.0.1"  # loopback only: nothing leaves this machine
    os.environ["MASTER_PORT"] = str(port)
    if sys.platform.startswith("linux"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)  # one core per process
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE)


def keep_rank0(rank: int, model: Any, shared: Any) -> None:
    """The copies are identical (same start, same averaged gradients): check that, then
    rank 0 writes its weights into ``shared``."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(WORLD_SIZE)]
    dist.all_gather(gathered, flat)
    if not all(torch.equal(gathered[0], g) for g in gathered):
        raise RuntimeError("DDP: the processes' weights differ after training")
    if rank == 0:
        with torch.no_grad():
            for target, trained in zip(shared.parameters(), model.parameters(), strict=True):
                target.copy_(trained)
    dist.barrier()


def train_distributed(module: Any, X: np.ndarray, y: np.ndarray, epochs: int, lr: float,
                      seed: int) -> None:
    """Continue training ``module`` in place with DistributedDataParallel on WORLD_SIZE
    local processes."""
    import torch
    import torch.multiprocessing as mp

    module.share_memory()  # the processes write the trained weights back into it
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    mp.spawn(ddp_worker, args=(free_port(), module, X_t, y_t, epochs, lr, seed),
             nprocs=WORLD_SIZE, join=True)


@ag.no_grad()
def our_logits(model: nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    return model(ag.Tensor(X)).data


def torch_logits(module: Any, X: np.ndarray) -> np.ndarray:
    import torch

    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == y).mean())


# ------------------------------------------------------------------------- the GPT path

GPT_CONFIG = dict(block_size=32, n_layer=2, n_head=4, n_embd=64)  # vocab_size: the text's
GPT_BATCH = 16  # sequences per step (each DDP process draws half of them)


def shakespeare() -> tuple[nn.text.CharTokenizer, np.ndarray, np.ndarray]:
    """The tokenizer and the corpus as int64 ids: the first 90 % to train, the rest to
    validate, as nanoGPT's shakespeare_char."""
    text = nn.datasets.load_tiny_shakespeare()
    tok = nn.text.CharTokenizer(text)
    ids = np.array(tok.encode(text), dtype=np.int64)
    n = int(0.9 * len(ids))
    return tok, ids[:n], ids[n:]


def get_batch(ids: np.ndarray, batch: int, block: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random windows of ``block`` tokens and the same windows one token later."""
    start = rng.integers(0, len(ids) - block - 1, batch)
    x = np.stack([ids[i:i + block] for i in start])
    return x, np.stack([ids[i + 1:i + 1 + block] for i in start])


def train_gpt_here(model: nn.models.GPT, ids: np.ndarray, steps: int, lr: float,
                   seed: int) -> None:
    """AdamW (nanoGPT's parameter groups) on our engine."""
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=lr)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x, y = get_batch(ids, GPT_BATCH, model.block_size, rng)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % max(1, steps // 5) == 0 or step + 1 == steps:
            print(f"  here,  step {step + 1}: loss {loss.item():.4f}", flush=True)


def ddp_gpt_worker(rank: int, port: int, shared: Any, ids: Any, steps: int, lr: float,
                   seed: int) -> None:
    """One of the WORLD_SIZE processes: train a copy of the traced GPT ``shared`` (its
    forward is ``(idx, targets) -> (logits, loss)``) with DDP and torch's AdamW."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    join_group(rank, port)
    try:
        model = copy.deepcopy(shared)
        ddp = DistributedDataParallel(model)
        params = list(ddp.parameters())  # the tied embedding / head weight once
        opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2],
                                  "weight_decay": 0.1},
                                 {"params": [p for p in params if p.ndim < 2],
                                  "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
        # each process its own half of every batch: its own random windows
        rng = np.random.default_rng([seed, 1, rank])
        for step in range(steps):
            x, y = get_batch(ids.numpy(), GPT_BATCH // WORLD_SIZE,
                             GPT_CONFIG["block_size"], rng)
            _, loss = ddp(torch.from_numpy(x), torch.from_numpy(y))
            opt.zero_grad()
            loss.backward()  # DDP all-reduces the gradients here
            opt.step()
            mean = loss.detach().clone()
            dist.all_reduce(mean)  # the step's loss over both halves
            if rank == 0 and ((step + 1) % max(1, steps // 5) == 0 or step + 1 == steps):
                print(f"  DDP x{WORLD_SIZE}, step {step + 1}: loss "
                      f"{(mean / WORLD_SIZE).item():.4f}", flush=True)
        keep_rank0(rank, model, shared)
        del ddp, opt  # DDP's reducer goes before the group it talks through
        gc.collect()
        dist.barrier()  # both processes done with the group before either tears it down
    finally:
        dist.destroy_process_group()


@ag.no_grad()
def val_loss_here(model: nn.models.GPT, x: np.ndarray, y: np.ndarray) -> tuple:
    """(logits, mean cross-entropy) of our model in eval mode."""
    model.eval()
    logits, loss = model(x, y)
    return logits.data, loss.item()


def val_loss_torch(module: Any, x: np.ndarray, y: np.ndarray) -> tuple:
    import torch

    module.eval()
    with torch.no_grad():
        logits, loss = module(torch.from_numpy(x), torch.from_numpy(y))
    return logits.numpy(), loss.item()


def run_gpt(args: Any, steps: int) -> int:
    """The character-level GPT: here, DDP, back by state_dict; 0 when both libraries agree."""
    import torch
    import torch.multiprocessing as mp

    lr = 3e-3 if args.lr is None else args.lr
    tok, train_ids, val_ids = shakespeare()
    rng = np.random.default_rng([args.seed, 2])
    x_val, y_val = get_batch(val_ids, 32, GPT_CONFIG["block_size"], rng)

    model = nn.models.GPT(vocab_size=tok.vocab_size, **GPT_CONFIG)
    print(f"1. training a GPT ({model.num_parameters():,} parameters, "
          f"{GPT_CONFIG['n_layer']} layers) on tiny Shakespeare here ({steps} steps)")
    train_gpt_here(model, train_ids, steps, lr, args.seed)
    _, val_here = val_loss_here(model, x_val, y_val)

    print("2. nn.to_torch(model, (idx, targets)): its forward, traced")
    # traced on windows shorter than block_size, so that a second trace one token longer
    # shows which sizes are the sequence length: the module then takes any length
    module = nn.to_torch(model, (x_val[:2, :8], y_val[:2, :8]))
    print(f"   {type(module).__name__}, a torch.fx.GraphModule whose forward returns "
          f"(logits, loss); the head and the token embedding stay tied: "
          f"{module.lm_head.weight is module.transformer.wte.weight}")

    print(f"3. DistributedDataParallel, {WORLD_SIZE} processes, gloo on 127.0.0.1 "
          f"({steps} steps)")
    module.share_memory()  # the processes write the trained weights back into it
    mp.spawn(ddp_gpt_worker, args=(free_port(), module, torch.from_numpy(train_ids), steps,
                                   lr, args.seed), nprocs=WORLD_SIZE, join=True)

    print("4. back by state_dict into a fresh nn.models.GPT (nanoGPT's names, unchanged)")
    back = nn.models.GPT(vocab_size=tok.vocab_size, **GPT_CONFIG)
    back.load_state_dict({k: v.detach().numpy() for k, v in module.state_dict().items()})
    ours, val_ours = val_loss_here(back, x_val, y_val)
    theirs, val_torch = val_loss_torch(module, x_val, y_val)
    max_diff = float(np.abs(ours - theirs).max())
    print_table(
        ["model", "evaluated by", "val loss"],
        [["after training here", "nn", f"{val_here:.4f}"],
         ["after DDP, back by state_dict", "nn", f"{val_ours:.4f}"],
         ["after DDP", "PyTorch", f"{val_torch:.4f}"]],
        title=f"tiny Shakespeare, {x_val.size} validation characters")
    print(f"\nmax |logits(nn) - logits(PyTorch)| = {max_diff:.3g} (float32)")
    sample = back.generate(np.array([tok.encode("\n")]), 80,
                           generator=ag.Generator().manual_seed(args.seed))
    print("a sample from the model that came back:\n" + tok.decode(sample.data[0]))
    path = out_dir(args.out) / "outgrow_gpt.npz"
    nn.save(back, path)
    print(f"wrote {path}")
    return 0 if max_diff < 1e-4 and abs(val_ours - val_torch) < 1e-4 else 1


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--model", choices=["mlp", "gpt"], default="mlp",
                        help="mlp: the digits MLP (default); gpt: a character-level GPT on "
                             "tiny Shakespeare, a model with its own forward")
    parser.add_argument("--epochs", type=int, default=10,
                        help="MLP: epochs here, and again on the distributed engine (default 10; "
                             "--quick: 2)")
    parser.add_argument("--steps", type=int, default=150,
                        help="GPT: steps here, and again on the distributed engine (default "
                             "150; --quick: 15)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 0.05 for the MLP's SGD, 3e-3 for the "
                             "GPT's AdamW)")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("outgrow.py continues the training on PyTorch, which is not installed:\n"
              "    pip install torch==2.13.0", file=sys.stderr)
        return 2
    ag.manual_seed(args.seed)
    if args.model == "gpt":
        return run_gpt(args, quick_default(args, parser, "steps", 15))
    return run_mlp(args, quick_default(args, parser, "epochs", 2))


def run_mlp(args: Any, epochs: int) -> int:
    """The digits MLP: here, DDP, back with nn.from_torch; 0 when both libraries agree."""
    lr = 0.05 if args.lr is None else args.lr
    X, y = nn.datasets.load_digits()
    X_train, y_train, X_test, y_test = split(X, y, args.seed)

    print(f"1. training an MLP 64-128-10 on {len(X_train)} digits here ({epochs} epochs)")
    model = nn.MLP([64, 128, 10], "tanh")
    train_here(model, X_train, y_train, epochs, lr, args.seed)
    acc_here = accuracy(our_logits(model, X_test), y_test)

    print("2. nn.to_torch(model)")
    module = nn.to_torch(model)
    print("   " + repr(module).replace("\n", "\n   "))

    print(f"3. DistributedDataParallel, {WORLD_SIZE} processes, gloo on 127.0.0.1 "
          f"({epochs} epochs)")
    train_distributed(module, X_train, y_train, epochs, lr, args.seed)

    print("4. nn.from_torch(module), evaluated by both libraries")
    back = nn.from_torch(module)
    ours, theirs = our_logits(back, X_test), torch_logits(module, X_test)
    acc_ours, acc_torch = accuracy(ours, y_test), accuracy(theirs, y_test)
    max_diff = float(np.abs(ours - theirs).max())
    print_table(
        ["model", "evaluated by", "test acc %"],
        [["after training here", "nn", f"{100 * acc_here:.2f}"],
         ["after DDP, back with nn.from_torch", "nn", f"{100 * acc_ours:.2f}"],
         ["after DDP", "PyTorch", f"{100 * acc_torch:.2f}"]],
        title=f"digits, {len(X_test)} test images")
    print(f"\nmax |logits(nn) - logits(PyTorch)| = {max_diff:.3g} "
          f"(float32; {'the same predictions' if acc_ours == acc_torch else 'PREDICTIONS DIFFER'})")
    path = out_dir(args.out) / "outgrow.npz"
    nn.save(back, path)
    print(f"wrote {path}")
    return 0 if acc_ours == acc_torch and max_diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
