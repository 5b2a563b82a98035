"""Makemore: character-level language models of first names, from bigram to transformer.

Karpathy's "makemore" on the engine. The data are the 32,033 names of
makemore's names.txt (``nn.datasets.load_names()``), shuffled with --seed and
split into 80% training, 10% validation and 10% test names. Each name is
read one character at a time, with '.' (token 0) marking its start and end:
"emma" gives the examples . -> e, e -> m, m -> m, m -> a, a -> . . Every
model predicts the next character from the ones before it, and every loss is
the mean negative log-likelihood per character (the cross-entropy), so the
numbers of all the models can be compared:

* bigram (counts): count how often each character follows each other one in
  the training names; P(next | previous) = (count + 1) / (row total + 27). The
  +1 ("fake counts", smoothing) keeps pairs never seen in training possible.
* bigram (network): the same model as a one-layer neural network, logits =
  one_hot(previous) @ W, trained by gradient descent on the cross-entropy. Its
  softmax rows can represent any table of probabilities, and the smoothing
  becomes a term of the loss (one fake example of every pair), so training
  finds the counting table itself: the two losses are equal.
* MLP (Bengio et al. 2003; makemore part 2): the previous 3 characters, each
  looked up as a learned 10-dimensional embedding, then 200 tanh units and a
  softmax over the 27 characters. SGD on mini-batches of 32, eta 0.1 for the
  first half of the steps and 0.01 for the second.
* GRU: a recurrent network reading the whole name so far (embedding, a gated
  recurrent layer, a linear read-out), trained with AdamW.
* transformer: nanoGPT's architecture (``nn.models.GPT``: causal
  self-attention over the name so far, learned positions), trained with AdamW.

Prints a table of the training, validation and test losses and 10 names
sampled from each model; writes the bigram counts and the learning curves
to --out. The full run takes minutes on one core (most of it the MLP's
200,000 steps and the transformer). With the default seed the validation
losses are: bigram 2.451, MLP 2.110 (makemore part 2 reports 2.17), GRU 2.035,
transformer 2.066.

    python examples/makemore.py            # the full run: minutes
    python examples/makemore.py --quick    # 2,000 names, few steps: seconds
"""

from __future__ import annotations

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import (
    Timer,
    make_parser,
    out_dir,
    print_table,
    progress,
    pyplot,
    quick_default,
    save_figure,
)

import autograd as ag
import nn
from nn import functional as F

BLOCK = 3          # the MLP's context: the 3 previous characters
N_SAMPLES = 10     # names sampled from each model
MAX_NAME = 30      # a sampled name stops here if no '.' came (none of the models gets close)


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

def load_splits(seed: int, n_names: int | None = None):
    """(tokenizer, {'train', 'val', 'test': list of names}): 80/10/10 after a shuffle.

    ``n_names`` keeps only that many names (after the shuffle), for a quick run.
    """
    words = nn.datasets.load_names()
    tok = nn.text.CharTokenizer(words, specials=["."])        # '.' = 0, 'a'..'z' = 1..26
    order = np.random.default_rng(seed).permutation(len(words))
    words = [words[i] for i in order[:n_names]]
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return tok, {"train": words[:n1], "val": words[n1:n2], "test": words[n2:]}


def context_examples(words: list[str], tok, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (previous ``block`` characters, next character) pair of ``words``: X (n, block)
    and Y (n,) int64. The context starts as '...' (all 0) before a name's first letter."""
    X, Y = [], []
    for w in words:
        context = [0] * block
        for ix in tok.encode(w) + [0]:
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X, dtype=np.int64).reshape(-1, block), np.array(Y, dtype=np.int64)


def sequence_examples(words: list[str], tok, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Names as padded sequences for the GRU and the transformer: X (n, length) starts with
    '.' then the letters (0 after the end), Y (n, length) is X shifted left: the letters then
    '.', and -1 where there is nothing to predict (ignored by the loss)."""
    X = np.zeros((len(words), length), dtype=np.int64)
    Y = np.full((len(words), length), -1, dtype=np.int64)
    for k, w in enumerate(words):
        ids = tok.encode(w)
        X[k, 1:len(ids) + 1] = ids
        Y[k, :len(ids) + 1] = ids + [0]
    return X, Y


# ---------------------------------------------------------------------------
# the bigram: counts, then the same as a network
# ---------------------------------------------------------------------------

def bigram_counts(X: np.ndarray, Y: np.ndarray, vocab: int) -> np.ndarray:
    """N[i, j]: how often character j follows character i (X: (n, 1) previous characters)."""
    N = np.zeros((vocab, vocab), dtype=np.int64)
    np.add.at(N, (X[:, -1], Y), 1)
    return N


def nll(P: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """Mean negative log-likelihood of the pairs under the bigram table P (rows sum to 1)."""
    return float(-np.log(P[X[:, -1], Y]).mean())


def train_bigram_network(X: np.ndarray, Y: np.ndarray, vocab: int, smoothing: float,
                         steps: int, lr: float, seed: int) -> tuple[ag.Tensor, list]:
    """W (vocab, vocab) of the one-layer network logits = one_hot(x) @ W, by full-batch Adam.

    The loss is the cross-entropy on the training pairs plus ``smoothing`` fake examples of
    every pair (i, j), the network's form of the counts' +1: its minimum is exactly
    softmax(W)[i] = (N[i] + smoothing) / (row total + vocab * smoothing), the counting table.
    Adam's steps do not shrink with the rows' frequencies, so rare rows converge as fast as
    common ones. Returns W and the training cross-entropy (the data term) of every step.
    """
    ag.manual_seed(seed)
    W = ag.randn(vocab, vocab, requires_grad=True)
    opt = nn.optim.Adam([W], lr=lr)
    x = F.one_hot(ag.tensor(X[:, -1]), vocab).float()     # (n, vocab): row i has a 1 at x_i
    fake = smoothing / len(Y)                             # fake examples, per real one
    curve = []
    bar = progress(steps, "bigram network")
    for _ in range(steps):
        data = F.cross_entropy(x @ W, Y)
        loss = data - F.log_softmax(W, dim=1).sum() * fake
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(data.item())
        bar.update()
        bar.set_postfix(refresh=False, loss=curve[-1])
    bar.close()
    return W.detach(), curve


# ---------------------------------------------------------------------------
# neural language models
# ---------------------------------------------------------------------------

class MLPLanguageModel(nn.Module):
    """Bengio et al.'s model: embed the ``block`` previous characters, concatenate,
    one tanh hidden layer, logits over the vocabulary."""

    def __init__(self, vocab: int, block: int = BLOCK, n_embd: int = 10, hidden: int = 200):
        super().__init__()
        self.block = block
        self.emb = nn.Embedding(vocab, n_embd)                # makemore's C
        self.hidden = nn.Linear(block * n_embd, hidden)       # W1, b1
        self.out = nn.Linear(hidden, vocab)                   # W2, b2

    def forward(self, idx) -> ag.Tensor:
        """idx (B, block) int64 -> logits (B, vocab)."""
        e = self.emb(idx)                                     # (B, block, n_embd)
        return self.out(self.hidden(e.view(e.shape[0], -1)).tanh())


class GRULanguageModel(nn.Module):
    """Embedding, a GRU over the sequence, a linear read-out at every position."""

    def __init__(self, vocab: int, n_embd: int = 32, hidden: int = 64):
        super().__init__()
        self.emb = nn.Embedding(vocab, n_embd)
        self.rnn = nn.GRU(n_embd, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, idx) -> ag.Tensor:
        """idx (B, T) int64 -> logits (B, T, vocab)."""
        h, _ = self.rnn(self.emb(idx))
        return self.out(h)


def sequence_loss(logits: ag.Tensor, Y: np.ndarray) -> ag.Tensor:
    """Mean cross-entropy over the positions whose target is not -1 (the padding)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1),
                           ignore_index=-1)


def train_steps(name: str, loss_fn, params, opt, steps: int, batch_size: int, n: int,
                seed: int, lr_at=None) -> tuple[list, float]:
    """``steps`` mini-batch updates; ``loss_fn(ix)`` is the loss on the examples ``ix``.

    ``lr_at(step)`` (optional) sets the learning rate of each step. Returns the loss of every
    step and the seconds taken.
    """
    rng = np.random.default_rng(seed)
    curve = []
    bar = progress(steps, name)
    with Timer() as t:
        for step in range(steps):
            if lr_at is not None:
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
            loss = loss_fn(rng.integers(0, n, batch_size))
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(loss.item())
            bar.update()
            if step % 100 == 0:
                bar.set_postfix(refresh=False, loss=curve[-1])
    bar.set_postfix(loss=float(np.mean(curve[-100:])))
    bar.close()
    return curve, t.seconds


@ag.no_grad()
def mean_loss(loss_fn, n: int, batch: int) -> float:
    """The loss over all ``n`` examples, weighted by the characters in each batch."""
    total, count = 0.0, 0
    for start in range(0, n, batch):
        value, k = loss_fn(np.arange(start, min(start + batch, n)))
        total, count = total + value.item() * k, count + k
    return total / count


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------

@ag.no_grad()
def sample_names(next_probs, tok, n: int, generator: ag.Generator) -> list[str]:
    """``n`` names drawn one character at a time: ``next_probs(ids)`` gives the probabilities
    (vocab,) of the character after ``ids`` (the name so far, without the starting '.');
    a name ends when '.' is drawn."""
    names = []
    for _ in range(n):
        ids: list[int] = []
        while len(ids) < MAX_NAME:
            ix = ag.multinomial(next_probs(ids), 1, generator=generator).item()
            if ix == 0:
                break
            ids.append(ix)
        names.append(tok.decode(ids))
    return names


def gpt_names(model: nn.models.GPT, tok, n: int, generator: ag.Generator) -> list[str]:
    """``n`` names from ``model.generate`` (all at once, with the KV cache), each cut at its
    first '.'."""
    model.eval()
    with ag.no_grad():
        ids = model.generate(ag.zeros(n, 1, dtype=ag.int64), model.block_size,
                             generator=generator).data
    model.train()
    names = []
    for row in ids[:, 1:].tolist():
        names.append(tok.decode(row[:row.index(0)] if 0 in row else row))
    return names


def n_parameters(model: nn.Module) -> int:
    return sum(p.size for p in model.parameters())


def show(name: str) -> str:
    return name or "(empty)"


# ---------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------

def plot_counts(N: np.ndarray, tok, path) -> None:
    """The bigram counts as makemore part 1 draws them: a 27 x 27 grid, 'ab' and its count."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(13, 13))
    ax.imshow(N, cmap="Blues")
    chars = tok.decode(list(range(len(N))))
    for i in range(len(N)):
        for j in range(len(N)):
            ax.text(j, i, chars[i] + chars[j], ha="center", va="bottom", color="gray", fontsize=7)
            ax.text(j, i, str(N[i, j]), ha="center", va="top", color="gray", fontsize=7)
    ax.set_title("bigram counts in the training names (row: a character, column: the next)")
    ax.axis("off")
    save_figure(fig, path)


def plot_curves(curves: dict, bigram_val: float, path) -> None:
    """Training loss (mean over windows of steps) of each network against the characters it
    has seen: a step of the MLP is 32 characters, one of the sequence models 32 names.
    ``curves``: {name: (loss of every step, characters per step)}."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, (curve, chars) in curves.items():
        curve = np.asarray(curve)
        window = max(1, len(curve) // 200)
        smooth = curve[:len(curve) // window * window].reshape(-1, window).mean(axis=1)
        ax.plot((np.arange(len(smooth)) + 0.5) * window * chars, smooth, label=name)
    ax.axhline(bigram_val, color="gray", ls="--", lw=1, label="bigram (validation)")
    ax.set_xscale("log")
    ax.set_xlabel("training characters seen (mean number per step x steps)")
    ax.set_ylabel("training loss (nats per character)")
    ax.set_title("makemore: learning curves")
    ax.legend()
    save_figure(fig, path)


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

def main(argv=None) -> dict:
    parser = make_parser(__doc__, seed=42)
    parser.add_argument("--names", type=int, default=None,
                        help="use only this many names (default: all 32,033; --quick: 2,000)")
    parser.add_argument("--mlp-steps", type=int, default=200_000,
                        help="MLP mini-batch steps; eta 0.1, then 0.01 for the second half "
                             "(default 200,000 as makemore part 2; --quick: 2,000)")
    parser.add_argument("--bigram-steps", type=int, default=150,
                        help="full-batch Adam steps of the bigram network (default 150; "
                             "--quick: 100)")
    parser.add_argument("--rnn-steps", type=int, default=4_000,
                        help="GRU steps of 32 names (default 4,000; --quick: 60)")
    parser.add_argument("--gpt-steps", type=int, default=3_000,
                        help="transformer steps of 32 names (default 3,000; --quick: 40)")
    args = parser.parse_args(argv)
    n_names = quick_default(args, parser, "names", 2_000)
    mlp_steps = quick_default(args, parser, "mlp_steps", 2_000)
    bigram_steps = quick_default(args, parser, "bigram_steps", 100)
    rnn_steps = quick_default(args, parser, "rnn_steps", 60)
    gpt_steps = quick_default(args, parser, "gpt_steps", 40)
    out = out_dir(args.out)

    tok, words = load_splits(args.seed, n_names)
    V = tok.vocab_size
    length = max(len(w) for w in nn.datasets.load_names()) + 1    # '.' + the longest name
    print(f"names: {len(words['train'])} training, {len(words['val'])} validation, "
          f"{len(words['test'])} test; vocabulary {V} ('.' then a-z); losses in nats per "
          f"character")
    rows, samples, curves, result = [], {}, {}, {}
    splits = ("train", "val", "test")

    def sampler(seed_offset: int) -> ag.Generator:
        return ag.Generator().manual_seed(args.seed + seed_offset)

    # -- bigram by counting
    pairs = {s: context_examples(words[s], tok, 1) for s in splits}
    with Timer() as t:
        N = bigram_counts(*pairs["train"], V)
        P = (N + 1.0) / (N + 1.0).sum(axis=1, keepdims=True)
    losses = [nll(P, *pairs[s]) for s in splits]
    rows.append(["bigram (counts)", V * V, "-", *losses, t.seconds])
    samples["bigram (counts)"] = sample_names(lambda ids: P[([0] + ids)[-1]], tok,
                                              N_SAMPLES, sampler(0))
    result["bigram_counts"] = losses

    # -- the same bigram as a one-layer network
    with Timer() as t:
        W, curve = train_bigram_network(*pairs["train"], V, smoothing=1.0,
                                        steps=bigram_steps, lr=0.3, seed=args.seed)
    Pw = W.softmax(axis=1).data.astype(np.float64)
    losses = [nll(Pw, *pairs[s]) for s in splits]
    rows.append(["bigram (network)", V * V, bigram_steps, *losses, t.seconds])
    samples["bigram (network)"] = sample_names(lambda ids: Pw[([0] + ids)[-1]], tok,
                                               N_SAMPLES, sampler(0))
    result["bigram_network"] = losses
    print(f"bigram: the network's training loss {losses[0]:.4f} against the counts' "
          f"{result['bigram_counts'][0]:.4f} (difference "
          f"{abs(losses[0] - result['bigram_counts'][0]):.1e})", flush=True)

    # -- MLP (Bengio et al.): makemore part 2's recipe
    ag.manual_seed(args.seed)
    mlp = MLPLanguageModel(V)
    data = {s: context_examples(words[s], tok, BLOCK) for s in splits}
    Xtr, Ytr = data["train"]
    curve, seconds = train_steps(
        "MLP", lambda ix: F.cross_entropy(mlp(Xtr[ix]), Ytr[ix]), mlp.parameters(),
        nn.optim.SGD(mlp.parameters(), lr=0.1), mlp_steps, 32, len(Ytr), args.seed,
        lr_at=lambda step: 0.1 if step < mlp_steps // 2 else 0.01)
    curves["MLP"] = curve, 32

    def mlp_loss(s: str):
        X, Y = data[s]
        return lambda ix: (F.cross_entropy(mlp(X[ix]), Y[ix]), len(ix))

    losses = [mean_loss(mlp_loss(s), len(data[s][1]), 20_000) for s in splits]
    rows.append(["MLP", n_parameters(mlp), mlp_steps, *losses, seconds])
    samples["MLP"] = sample_names(
        lambda ids: mlp(np.array([([0] * BLOCK + ids)[-BLOCK:]])).softmax(axis=1).data[0],
        tok, N_SAMPLES, sampler(1))
    result["mlp"] = losses

    # -- sequence models: GRU and transformer, on whole names
    seqs = {s: sequence_examples(words[s], tok, length) for s in splits}
    Str, Ttr = seqs["train"]
    chars_per_step = 32 * float((Ttr >= 0).sum(axis=1).mean())   # 32 names

    def seq_losses(model: nn.Module, loss_fn) -> list:
        """Training, validation and test loss of ``loss_fn(X, Y)`` in eval mode."""
        def loss_on(s: str):
            X, Y = seqs[s]
            return lambda ix: (loss_fn(X[ix], Y[ix]), int((Y[ix] >= 0).sum()))
        model.eval()
        values = [mean_loss(loss_on(s), len(seqs[s][0]), 1_000) for s in splits]
        model.train()
        return values

    ag.manual_seed(args.seed)
    gru = GRULanguageModel(V)
    opt = nn.optim.AdamW(gru.parameters(), lr=1e-2, weight_decay=0.01)
    curve, seconds = train_steps(
        "GRU", lambda ix: sequence_loss(gru(Str[ix]), Ttr[ix]), gru.parameters(), opt,
        rnn_steps, 32, len(Str), args.seed,
        lr_at=lambda step: 1e-2 if step < 0.75 * rnn_steps else 1e-3)
    curves["GRU"] = curve, chars_per_step
    losses = seq_losses(gru, lambda X, Y: sequence_loss(gru(X), Y))
    rows.append(["GRU", n_parameters(gru), rnn_steps, *losses, seconds])
    samples["GRU"] = sample_names(
        lambda ids: gru(np.array([[0] + ids])).softmax(axis=-1).data[0, -1], tok, N_SAMPLES,
        sampler(2))
    result["gru"] = losses

    ag.manual_seed(args.seed)
    gpt = nn.models.GPT(V, block_size=length, n_layer=2, n_head=4, n_embd=64)
    opt = gpt.configure_optimizers(weight_decay=0.01, learning_rate=3e-3, betas=(0.9, 0.99))
    curve, seconds = train_steps(
        "transformer", lambda ix: gpt(Str[ix], Ttr[ix])[1], gpt.parameters(), opt, gpt_steps,
        32, len(Str), args.seed,
        lr_at=lambda step: 3e-3 if step < 0.75 * gpt_steps else 3e-4)
    curves["transformer"] = curve, chars_per_step
    losses = seq_losses(gpt, lambda X, Y: gpt(X, Y)[1])
    rows.append(["transformer", n_parameters(gpt), gpt_steps, *losses, seconds])
    samples["transformer"] = gpt_names(gpt, tok, N_SAMPLES, sampler(3))
    result["transformer"] = losses

    print_table(["model", "parameters", "steps", "train loss", "val loss", "test loss",
                 "time (s)"],
                [[r[0], r[1], r[2], *(f"{v:.4f}" for v in r[3:6]), f"{r[6]:.2f}"]
                 for r in rows],
                title="makemore: the loss per character of each model on the names")
    print_table(["#", *samples],
                [[k + 1, *(show(s[k]) for s in samples.values())] for k in range(N_SAMPLES)],
                title=f"{N_SAMPLES} names sampled from each model")
    print()
    plot_counts(N, tok, out / "makemore_bigram_counts.png")
    plot_curves(curves, result["bigram_counts"][1], out / "makemore_learning_curves.png")
    result["samples"] = samples
    return result


if __name__ == "__main__":
    main()
