"""Tokenizers for the language models: text -> list of ids -> text.

``CharTokenizer``: one id per distinct character (makemore, nanoGPT's
``shakespeare_char``). ``BPETokenizer``: byte-level byte-pair encoding as GPT-2
and Karpathy's minbpe do it: 256 byte tokens, then merges of frequent adjacent
pairs. Both round-trip exactly: ``decode(encode(s)) == s``. Both save as plain
JSON-able dicts (``state_dict()`` / ``load_state_dict(d)``).
"""

from __future__ import annotations

import heapq
import re
import warnings
from collections import Counter
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from autograd import Tensor

__all__ = [
    "CharTokenizer",
    "BPETokenizer",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "GPT2_SPLIT_PATTERN_STDLIB",
]

# minbpe's copies of the split patterns of GPT-2 and of GPT-4 (tiktoken's cl100k_base). They use
# \p{L} (letters) and \p{N} (numbers), which the std `re` module lacks: they need the `regex`
# package (`pip install regex`), an optional one (the test extra installs it).
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
)
# GPT-2's pattern written for the std `re` module: [^\W\d_] stands for \p{L}, \d for \p{N}.
# It splits as GPT2_SPLIT_PATTERN does except for numerals that are not decimal digits
# ('²', '½', 'Ⅻ' go with the letters here) and a few control characters (\x1c-\x1f are
# whitespace to `re`).
GPT2_SPLIT_PATTERN_STDLIB = (
    r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
)


# Chunks this long (bytes) with at most this many merges encode with numpy (one pass per merge)
# rather than the heap: e.g. a whole text with pattern=None.
_NUMPY_MIN_BYTES = 1024
_NUMPY_MAX_MERGES = 4096


def _ids_to_list(ids: Any, vocab_size: int, who: str) -> list[int]:
    """``ids`` (list, ndarray, int Tensor or one int) as a list of ints in [0, vocab_size)."""
    if isinstance(ids, Tensor):
        ids = ids.data
    if isinstance(ids, (int, np.integer)) and not isinstance(ids, bool):
        ids = [ids]
    arr = np.asarray(ids)
    if arr.size == 0:
        return []
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(
            f"{who}.decode: ids must be integers, got an array of dtype {arr.dtype}; "
            "convert first (t.long(), np.asarray(ids).astype(np.int64))"
        )
    if arr.ndim > 1:
        raise ValueError(
            f"{who}.decode: takes one sequence of ids, got shape {arr.shape}; "
            f"decode each row: [tok.decode(row) for row in ids]"
        )
    arr = arr.reshape(-1)
    bad = np.flatnonzero((arr < 0) | (arr >= vocab_size))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"{who}.decode: id {int(arr[k])} at position {k} is out of range for a "
            f"vocabulary of {vocab_size} tokens (valid ids are 0..{vocab_size - 1})"
        )
    return arr.tolist()


# ----------------------------------------------------------------------------- characters


class CharTokenizer:
    """One token per character: the vocabulary is ``specials`` then the sorted distinct
    characters of ``text``.

    ``text`` is a str or an iterable of strs (e.g. a list of names). ``specials`` are single
    characters placed first, in the order given, whether or not they occur in ``text``;
    makemore's vocabulary ('.' = 0 marks a name's start and end, then 'a'..'z' = 1..26) is
    ``CharTokenizer(names, specials=['.'])``.

    Example::

        tok = CharTokenizer("hello")        # vocabulary ['e', 'h', 'l', 'o']
        tok.encode("hole") == [1, 3, 2, 0]; tok.decode([1, 0, 2, 2, 3]) == "hello"
    """

    def __init__(self, text: str | Iterable[str] = "", specials: Sequence[str] = ()) -> None:
        if isinstance(text, str):
            chars = set(text)
        else:
            chars = set()
            for k, piece in enumerate(text):
                if not isinstance(piece, str):
                    raise TypeError(
                        f"CharTokenizer: text must be a str or an iterable of strs; item {k} "
                        f"is {type(piece).__name__}"
                    )
                chars.update(piece)
        specials = [specials] if isinstance(specials, str) else list(specials)
        self._check_specials(specials)
        self._set_vocab(specials + sorted(chars.difference(specials)), len(specials))

    @staticmethod
    def _check_specials(specials: list) -> None:
        for s in specials:
            if not isinstance(s, str) or len(s) != 1:
                raise ValueError(
                    f"CharTokenizer: each special token must be one character, got {s!r}; "
                    "a CharTokenizer maps characters to ids (e.g. specials=['.'])"
                )
        if len(set(specials)) != len(specials):
            raise ValueError(f"CharTokenizer: specials {specials!r} repeat a character")

    def _set_vocab(self, chars: list[str], n_specials: int) -> None:
        self._itos_list = list(chars)
        self._n_specials = n_specials
        self._stoi = {c: i for i, c in enumerate(chars)}
        self._itos = dict(enumerate(chars))

    @property
    def vocab_size(self) -> int:
        """The number of tokens (ids are 0 .. vocab_size - 1)."""
        return len(self._itos_list)

    def __len__(self) -> int:
        return len(self._itos_list)

    @property
    def stoi(self) -> Mapping[str, int]:
        """Character -> id (read-only)."""
        return MappingProxyType(self._stoi)

    @property
    def itos(self) -> Mapping[int, str]:
        """Id -> character (read-only)."""
        return MappingProxyType(self._itos)

    @property
    def specials(self) -> list[str]:
        """The special characters, ids 0 .. len(specials) - 1."""
        return self._itos_list[: self._n_specials]

    def encode(self, s: str) -> list[int]:
        """The id of each character of ``s``; unknown characters raise ValueError."""
        if not isinstance(s, str):
            raise TypeError(f"CharTokenizer.encode: expects a str, got {type(s).__name__}")
        stoi = self._stoi
        try:
            return [stoi[c] for c in s]
        except KeyError:
            unknown = sorted(set(s).difference(stoi))
            k = next(i for i, c in enumerate(s) if c not in stoi)
            c = s[k]
            more = f" (and {len(unknown) - 1} more unknown characters)" if len(unknown) > 1 else ""
            raise ValueError(
                f"CharTokenizer.encode: character {c!r} (U+{ord(c):04X}) at position {k} is "
                f"not in the vocabulary of {self.vocab_size} characters{more}; build the "
                "tokenizer from text that contains every character you will encode"
            ) from None

    def decode(self, ids: Any) -> str:
        """The characters of ``ids`` (a list, a 1-D int ndarray or Tensor, or one int)."""
        itos = self._itos_list
        return "".join([itos[i] for i in _ids_to_list(ids, len(itos), "CharTokenizer")])

    def state_dict(self) -> dict[str, Any]:
        """The vocabulary as plain JSON-able values."""
        return {
            "type": "CharTokenizer",
            "chars": list(self._itos_list),
            "n_specials": self._n_specials,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the vocabulary with the one ``state_dict()`` returned."""
        if not isinstance(state, Mapping) or state.get("type") != "CharTokenizer":
            raise ValueError(
                "CharTokenizer.load_state_dict: expects the dict of CharTokenizer.state_dict() "
                f"(with 'type': 'CharTokenizer'), got {type(state).__name__}"
            )
        chars, n = state.get("chars"), state.get("n_specials", 0)
        if (
            not isinstance(chars, list)
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
            or len(set(chars)) != len(chars)
        ):
            raise ValueError(
                "CharTokenizer.load_state_dict: 'chars' must be a list of distinct "
                "one-character strs"
            )
        if not isinstance(n, int) or not 0 <= n <= len(chars):
            raise ValueError(
                f"CharTokenizer.load_state_dict: 'n_specials' must be an int in 0..{len(chars)}, "
                f"got {n!r}"
            )
        self._set_vocab(chars, n)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> CharTokenizer:
        """A new tokenizer with the vocabulary of ``state``."""
        tok = cls()
        tok.load_state_dict(state)
        return tok

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, specials={self.specials!r})"


# ----------------------------------------------------------------------------- byte-level BPE


def _compile_pattern(pattern: str | None) -> Any:
    """The compiled split pattern: std `re` where it compiles, else the `regex` package."""
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise TypeError(
            f"BPETokenizer: pattern must be a str or None, got {type(pattern).__name__}"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        try:
            import regex
        except ImportError:
            if r"\p{" in pattern:
                raise ImportError(
                    "BPETokenizer: this split pattern uses \\p{..} classes, which need the "
                    "`regex` package (pip install regex); or use "
                    "nn.text.GPT2_SPLIT_PATTERN_STDLIB, which the std re module compiles"
                ) from None
            raise ValueError(f"BPETokenizer: split pattern does not compile: {exc}") from None
        try:
            return regex.compile(pattern)
        except regex.error as exc2:
            raise ValueError(f"BPETokenizer: split pattern does not compile: {exc2}") from None


def _learn_merges(chunks: Mapping[bytes, int], n_merges: int) -> list[tuple[int, int]]:
    """Up to ``n_merges`` merges of the most frequent adjacent pair over ``chunks`` (bytes ->
    how often the chunk occurs). Ties go to the smallest pair (a, b); each merge replaces the
    occurrences of its pair left to right, non-overlapping (as minbpe's loop does).

    The bytes of all chunks sit in one array linked into chains (``nxt``/``prv``, -1 at a chunk's
    ends). ``counts`` holds each pair's frequency, ``where`` the left positions where the pair
    may occur (stale ones are skipped), a heap the counts to pick the largest: a merge touches
    only its occurrences, not the whole text.
    """
    tok: list[int] = []
    weight: list[int] = []
    for data, mult in chunks.items():
        tok.extend(data)
        weight.extend([mult] * len(data))
    n = len(tok)
    nxt = list(range(1, n + 1))
    prv = list(range(-1, n - 1))
    start = 0
    for data in chunks:  # cut the chains at chunk boundaries
        end = start + len(data)
        if end > start:
            nxt[end - 1] = -1
            prv[start] = -1
        start = end

    counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for i in range(n):
        j = nxt[i]
        if j != -1:
            pair = (tok[i], tok[j])
            counts[pair] = counts.get(pair, 0) + weight[i]
            where.setdefault(pair, set()).add(i)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges:
        while heap and counts.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)  # stale: the pair's count changed since it was pushed
        if not heap:
            break
        _, pair = heapq.heappop(heap)
        a, b = pair
        new = 256 + len(merges)
        merges.append(pair)
        changed = set()
        for i in sorted(where.pop(pair)):
            j = nxt[i]
            if tok[i] != a or j == -1 or tok[j] != b:
                continue  # merged away by an earlier occurrence, or stale
            w = weight[i]
            p, q = prv[i], nxt[j]
            if p != -1:  # (x, a) becomes (x, new)
                old_key, key = (tok[p], a), (tok[p], new)
                counts[old_key] -= w
                counts[key] = counts.get(key, 0) + w
                changed.add(old_key)
                changed.add(key)
                where.setdefault(key, set()).add(p)
            if q != -1:  # (b, y) becomes (new, y)
                old_key, key = (b, tok[q]), (new, tok[q])
                counts[old_key] -= w
                counts[key] = counts.get(key, 0) + w
                changed.add(old_key)
                changed.add(key)
                where.setdefault(key, set()).add(i)
            tok[i], tok[j] = new, -1
            nxt[i] = q
            if q != -1:
                prv[q] = i
        counts.pop(pair, None)
        changed.discard(pair)
        for key in changed:
            c = counts.get(key, 0)
            if c > 0:
                heapq.heappush(heap, (-c, key))
            else:
                counts.pop(key, None)
    return merges


class BPETokenizer:
    """Byte-level byte-pair encoding (GPT-2, minbpe): ids 0..255 are the bytes of the UTF-8
    text, id 256 + k is merge k, the concatenation of the two tokens it joins.

    Train with ``BPETokenizer.train(text, vocab_size, pattern=None)``; ``BPETokenizer()`` alone
    knows only the 256 bytes. ``pattern`` (a regex) first cuts the text into chunks (words,
    numbers, punctuation, spaces: ``GPT2_SPLIT_PATTERN``, ``GPT4_SPLIT_PATTERN``,
    ``GPT2_SPLIT_PATTERN_STDLIB``) and no token crosses a chunk boundary; text between matches
    is a chunk of its own, so nothing is lost whatever the pattern. ``None``: the whole text is
    one chunk (minbpe's BasicTokenizer).

    ``decode(encode(s)) == s`` for every str: lone surrogates, which Python strs may hold,
    travel as UTF-8 with ``surrogatepass``; ids that do not form valid UTF-8 (ids from
    elsewhere) decode with U+FFFD replacement characters.
    """

    def __init__(self, merges: Iterable[Sequence[int]] = (), pattern: str | None = None) -> None:
        self._set(list(merges), pattern)

    def _set(self, merges: list, pattern: str | None) -> None:
        clean: list[tuple[int, int]] = []
        for k, m in enumerate(merges):
            ok = (
                isinstance(m, (list, tuple))
                and len(m) == 2
                and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in m)
            )
            if not ok or not all(0 <= t < 256 + k for t in m):
                raise ValueError(
                    f"BPETokenizer: merge {k} must be a pair of ids made before it "
                    f"(each in 0..{255 + k}), got {m!r}"
                )
            clean.append((int(m[0]), int(m[1])))
        if len(set(clean)) != len(clean):
            raise ValueError("BPETokenizer: the merges repeat a pair")
        self._regex = _compile_pattern(pattern)
        self._pattern = pattern
        self._merges = clean
        self._ranks = {pair: k for k, pair in enumerate(clean)}
        vocab = [bytes([i]) for i in range(256)]
        for a, b in clean:
            vocab.append(vocab[a] + vocab[b])
        self._vocab = vocab
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str | None = None) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text``.

        Each step merges the most frequent adjacent pair of tokens (counted within chunks, over
        the whole text); ties go to the smallest pair (first id, then second), so training is
        deterministic. (minbpe takes the tied pair seen first in the text instead: the two
        agree except on ties.) Training stops early, with a warning, when no pair is left.
        """
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.train: text must be a str, got {type(text).__name__}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
            raise TypeError(f"BPETokenizer.train: vocab_size must be an int, got {vocab_size!r}")
        if vocab_size < 256:
            raise ValueError(
                f"BPETokenizer.train: vocab_size must be at least 256 (the byte tokens), "
                f"got {vocab_size}"
            )
        tok = cls(pattern=pattern)
        chunks = Counter(c.encode("utf-8", "surrogatepass") for c in tok._chunks(text))
        merges = _learn_merges(chunks, int(vocab_size) - 256)
        if len(merges) < vocab_size - 256:
            warnings.warn(
                f"BPETokenizer.train: the text ran out of pairs after {len(merges)} merges; "
                f"vocab_size is {256 + len(merges)}, not {vocab_size}",
                stacklevel=2,
            )
        tok._set(merges, pattern)
        return tok

    @property
    def merges(self) -> dict[tuple[int, int], int]:
        """The merges in the order learnt: (id, id) -> new id (minbpe's ``merges``)."""
        return {pair: 256 + k for k, pair in enumerate(self._merges)}

    @property
    def vocab(self) -> dict[int, bytes]:
        """Id -> the bytes it stands for."""
        return dict(enumerate(self._vocab))

    @property
    def vocab_size(self) -> int:
        """256 + the number of merges."""
        return len(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)

    @property
    def pattern(self) -> str | None:
        """The split pattern (None: no splitting)."""
        return self._pattern

    def _chunks(self, text: str) -> list[str]:
        """``text`` cut by the pattern; the pieces concatenate back to ``text``."""
        if self._regex is None:
            return [text] if text else []
        if self._regex.groups == 0:  # the fast path: the matches tile the text
            parts = self._regex.findall(text)
            if sum(map(len, parts)) == len(text):
                return [p for p in parts if p]
        out, pos = [], 0
        for m in self._regex.finditer(text):
            start, end = m.span()
            if start > pos:
                out.append(text[pos:start])
            if end > start:
                out.append(text[start:end])
            pos = max(pos, end)
        if pos < len(text):
            out.append(text[pos:])
        return out

    def _encode_bytes(self, data: bytes) -> list[int]:
        """Apply the merges to ``data`` lowest rank first, each left to right (as minbpe).

        A heap of (rank, position) over a linked list: a merge with id 256 + k only ever forms
        pairs of higher rank, so popping in order is minbpe's "merge the earliest-learnt pair
        present, everywhere" loop without rescanning the chunk.
        """
        ranks = self._ranks
        n = len(data)
        if n < 2 or not ranks:
            return list(data)
        if n >= _NUMPY_MIN_BYTES and len(ranks) <= _NUMPY_MAX_MERGES:
            return self._encode_bytes_numpy(data)
        ids = list(data)
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        heap = []
        for i in range(n - 1):
            r = ranks.get((ids[i], ids[i + 1]))
            if r is not None:
                heap.append((r, i))
        heapq.heapify(heap)
        while heap:
            r, i = heapq.heappop(heap)
            j = nxt[i]
            if j == -1 or ids[i] < 0 or ranks.get((ids[i], ids[j])) != r:
                continue  # this pair was merged away
            new = 256 + r
            q = nxt[j]
            ids[i], ids[j] = new, -1
            nxt[i] = q
            if q != -1:
                prv[q] = i
                rq = ranks.get((new, ids[q]))
                if rq is not None:
                    heapq.heappush(heap, (rq, i))
            p = prv[i]
            if p != -1:
                rp = ranks.get((ids[p], new))
                if rp is not None:
                    heapq.heappush(heap, (rp, p))
        return [t for t in ids if t >= 0]

    def _encode_bytes_numpy(self, data: bytes) -> list[int]:
        """The same merges as ``_encode_bytes``, one vectorised pass over the array per merge:
        faster for long chunks (no pattern) and few merges."""
        arr = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
        for k, (a, b) in enumerate(self._merges):
            if arr.size < 2:
                break
            idx = np.flatnonzero((arr[:-1] == a) & (arr[1:] == b))
            if idx.size == 0:
                continue
            if a == b and idx.size > 1:  # 'aaa': in each run of overlapping pairs every other
                starts = np.ones(idx.size, dtype=bool)  # one, from the left, as minbpe
                starts[1:] = idx[1:] != idx[:-1] + 1
                run_start = np.flatnonzero(starts)[np.cumsum(starts) - 1]
                idx = idx[(np.arange(idx.size) - run_start) % 2 == 0]
            arr[idx] = 256 + k
            arr = np.delete(arr, idx + 1)
        return arr.tolist()

    def encode(self, s: str) -> list[int]:
        """The token ids of ``s`` (any str)."""
        if not isinstance(s, str):
            raise TypeError(f"BPETokenizer.encode: expects a str, got {type(s).__name__}")
        out: list[int] = []
        cache = self._cache
        for chunk in self._chunks(s):
            ids = cache.get(chunk)
            if ids is None:
                ids = self._encode_bytes(chunk.encode("utf-8", "surrogatepass"))
                if len(chunk) <= 64 and len(cache) < 100_000:
                    cache[chunk] = ids
            out.extend(ids)
        return out

    def decode_bytes(self, ids: Any) -> bytes:
        """The bytes that ``ids`` stand for."""
        vocab = self._vocab
        return b"".join([vocab[i] for i in _ids_to_list(ids, len(vocab), "BPETokenizer")])

    def decode(self, ids: Any) -> str:
        """The text of ``ids`` (a list, a 1-D int ndarray or Tensor, or one int)."""
        data = self.decode_bytes(ids)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # ids that encode() did not make: a token may end mid-char
            return data.decode("utf-8", "replace")

    def state_dict(self) -> dict[str, Any]:
        """The merges and the pattern as plain JSON-able values."""
        return {
            "type": "BPETokenizer",
            "pattern": self._pattern,
            "merges": [list(pair) for pair in self._merges],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace merges and pattern with the ones ``state_dict()`` returned."""
        if not isinstance(state, Mapping) or state.get("type") != "BPETokenizer":
            raise ValueError(
                "BPETokenizer.load_state_dict: expects the dict of BPETokenizer.state_dict() "
                f"(with 'type': 'BPETokenizer'), got {type(state).__name__}"
            )
        merges = state.get("merges")
        if not isinstance(merges, list):
            raise ValueError("BPETokenizer.load_state_dict: 'merges' must be a list of pairs")
        self._set(merges, state.get("pattern"))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> BPETokenizer:
        """A new tokenizer with the merges and pattern of ``state``."""
        tok = cls()
        tok.load_state_dict(state)
        return tok

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, pattern={self._pattern!r})"
