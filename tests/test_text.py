"""nn.text: CharTokenizer and the byte-level BPETokenizer.

Round trips over arbitrary Unicode (hypothesis), BPE training and encoding against a
straightforward minbpe-style reference written here (same tie rule: most frequent pair, ties
to the smallest pair), determinism, state dicts and the error messages.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from nn import text as nt
from nn.text import (
    GPT2_SPLIT_PATTERN,
    GPT2_SPLIT_PATTERN_STDLIB,
    GPT4_SPLIT_PATTERN,
    BPETokenizer,
    CharTokenizer,
)

try:
    import regex
except ImportError:  # not a dependency: the \p{..} patterns are then tested for their error
    regex = None

# any str Python can hold: st.text() plus lone surrogates (not valid Unicode, but legal in a str)
any_char = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
any_text = st.text(alphabet=any_char, max_size=60)
# few distinct symbols: many repeated pairs, many ties, overlapping runs ('aaa')
small_text = st.text(alphabet=st.sampled_from("aab \n\u00e9\u4e2d"), max_size=120)
# training on texts with few pairs warns that it ran out of them: expected here
pytestmark = pytest.mark.filterwarnings("ignore:BPETokenizer.train. the text ran out")

PATTERNS = [None, GPT2_SPLIT_PATTERN_STDLIB] + ([GPT4_SPLIT_PATTERN] if regex else [])


# ----------------------------------------------------------------------------- the reference


def _ref_chunks(text, pattern):
    if pattern is None:
        return [text] if text else []
    mod = re if pattern == GPT2_SPLIT_PATTERN_STDLIB else regex
    return mod.findall(pattern, text)


def _ref_merge(ids, pair, new):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def ref_train(text, vocab_size, pattern=None):
    """minbpe's loop: recount every pair, merge the most frequent (ties: smallest pair)."""
    chunks = [list(c.encode("utf-8", "surrogatepass")) for c in _ref_chunks(text, pattern)]
    merges = []
    for k in range(vocab_size - 256):
        stats = Counter(p for ids in chunks for p in zip(ids, ids[1:], strict=False))
        if not stats:
            break
        pair = min(stats, key=lambda p: (-stats[p], p))
        merges.append(pair)
        chunks = [_ref_merge(ids, pair, 256 + k) for ids in chunks]
    return merges


def ref_encode(text, merges, pattern=None):
    """minbpe's encode: per chunk, merge the earliest-learnt pair present until none is."""
    ranks = {pair: k for k, pair in enumerate(merges)}
    out = []
    for chunk in _ref_chunks(text, pattern):
        ids = list(chunk.encode("utf-8", "surrogatepass"))
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:], strict=False), key=lambda p: ranks.get(p, float("inf")))
            if pair not in ranks:
                break
            ids = _ref_merge(ids, pair, 256 + ranks[pair])
        out.extend(ids)
    return out


# ----------------------------------------------------------------------------- CharTokenizer


@given(any_text)
def test_char_round_trip(s):
    tok = CharTokenizer(s)
    ids = tok.encode(s)
    assert tok.decode(ids) == s
    assert tok.vocab_size == len(set(s))
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert list(tok.itos.values()) == sorted(set(s))


def test_char_vocabulary_sorted_and_ids():
    tok = CharTokenizer("hello")
    assert tok.stoi == {"e": 0, "h": 1, "l": 2, "o": 3}
    assert tok.itos == {0: "e", 1: "h", 2: "l", 3: "o"}
    assert tok.encode("hole") == [1, 3, 2, 0]
    assert tok.decode([1, 0, 2, 2, 3]) == "hello"
    assert len(tok) == tok.vocab_size == 4
    assert tok.encode("") == [] and tok.decode([]) == ""


def test_char_makemore_vocabulary_with_boundary_special():
    words = nn.datasets.load_names()
    tok = CharTokenizer(words, specials=["."])
    # makemore: stoi = {s: i + 1 for i, s in enumerate(chars)}; stoi['.'] = 0
    chars = sorted(set("".join(words)))
    expected = {s: i + 1 for i, s in enumerate(chars)}
    expected["."] = 0
    assert dict(tok.stoi) == expected
    assert tok.vocab_size == 27 and tok.specials == ["."]
    assert tok.encode(".emma.") == [0, 5, 13, 13, 1, 0]
    # a special that also occurs in the text keeps its place in front
    tok2 = CharTokenizer("a.b", specials=".")
    assert tok2.stoi == {".": 0, "a": 1, "b": 2}


def test_char_decode_accepts_lists_arrays_tensors_ints():
    tok = CharTokenizer("abc")
    assert tok.decode(np.array([2, 0, 1], dtype=np.int32)) == "cab"
    assert tok.decode(np.array([2, 0, 1], dtype=np.uint8)) == "cab"
    assert tok.decode(ag.Tensor(np.array([0, 2], dtype=np.int64))) == "ac"
    assert tok.decode(1) == "b"
    assert tok.decode(np.int64(2)) == "c"
    assert tok.decode(np.array(2)) == "c"
    assert tok.decode(np.array([], dtype=np.float32)) == ""


def test_char_unknown_character_names_it_and_its_position():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\) at position 3 .*vocabulary of 3"):
        tok.encode("abcz")
    with pytest.raises(ValueError, match="1 more unknown"):
        tok.encode("ayz")
    with pytest.raises(TypeError, match="expects a str"):
        tok.encode([0, 1])


def test_char_decode_errors():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"id 3 at position 1 is out of range .* 0\.\.2"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="id -1 at position 0"):  # no silent wrap-around
        tok.decode([-1])
    with pytest.raises(TypeError, match="integers.*float32"):
        tok.decode(np.array([0.0, 1.0], dtype=np.float32))
    with pytest.raises(TypeError, match="integers.*bool"):
        tok.decode([True, False])
    with pytest.raises(ValueError, match=r"one sequence.*\(2, 2\).*each row"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))


def test_char_constructor_errors():
    with pytest.raises(ValueError, match="one character.*'<s>'"):
        CharTokenizer("abc", specials=["<s>"])
    with pytest.raises(ValueError, match="repeat"):
        CharTokenizer("abc", specials=[".", "."])
    with pytest.raises(TypeError, match="item 1 is int"):
        CharTokenizer(["ab", 3])


@given(any_text, st.lists(st.sampled_from(".#\u0000"), unique=True, max_size=3))
def test_char_state_dict_json_round_trip(s, specials):
    tok = CharTokenizer(s, specials=specials)
    state = json.loads(json.dumps(tok.state_dict()))
    tok2 = CharTokenizer.from_state_dict(state)
    assert tok2.stoi == tok.stoi and tok2.specials == tok.specials
    assert tok2.decode(tok2.encode(s)) == s
    tok3 = CharTokenizer("xyz")
    tok3.load_state_dict(state)
    assert tok3.encode(s) == tok.encode(s)


def test_char_load_state_dict_errors():
    tok = CharTokenizer("ab")
    with pytest.raises(ValueError, match="CharTokenizer.state_dict"):
        tok.load_state_dict({"type": "BPETokenizer", "merges": []})
    with pytest.raises(ValueError, match="distinct one-character"):
        tok.load_state_dict({"type": "CharTokenizer", "chars": ["a", "a"], "n_specials": 0})
    with pytest.raises(ValueError, match="n_specials"):
        tok.load_state_dict({"type": "CharTokenizer", "chars": ["a"], "n_specials": 2})
    assert tok.stoi == {"a": 0, "b": 1}  # unchanged after the refusals


def test_char_shakespeare_vocabulary():
    text = nn.datasets.load_tiny_shakespeare()
    tok = CharTokenizer(text)
    assert tok.vocab_size == 65
    ids = tok.encode(text[:1000])
    assert tok.decode(ids) == text[:1000]
    assert tok.itos[0] == "\n" and tok.itos[1] == " "  # nanoGPT's shakespeare_char order


# ----------------------------------------------------------------------------- BPE


def test_bpe_known_merges_and_tie_rule():
    # Wikipedia's example: aa -> Z, then ab ties with Za (2 each): the smaller pair (a, b) wins
    tok = BPETokenizer.train("aaabdaaabac", 259)
    assert tok.merges == {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.vocab[258] == b"aaab"
    assert tok.vocab_size == len(tok) == 259


@settings(max_examples=60)
@given(small_text, st.integers(256, 300), st.sampled_from(PATTERNS))
def test_bpe_train_matches_reference(text, vocab_size, pattern):
    tok = BPETokenizer.train(text, vocab_size, pattern=pattern)
    expected = ref_train(text, vocab_size, pattern)
    assert list(tok.merges) == expected
    assert tok.encode(text) == ref_encode(text, expected, pattern)


@settings(max_examples=60)
@given(small_text, small_text, st.sampled_from(PATTERNS))
def test_bpe_encode_matches_reference_on_other_text(train_text, text, pattern):
    tok = BPETokenizer.train(train_text + "aaaa bab", 290, pattern=pattern)
    assert tok.encode(text) == ref_encode(text, list(tok.merges), pattern)


@settings(max_examples=40)
@given(small_text, st.sampled_from([None, GPT2_SPLIT_PATTERN_STDLIB]))
def test_bpe_numpy_encoder_matches_reference(text, pattern):
    # long chunks (pattern=None) encode with one numpy pass per merge: force that path here
    tok = BPETokenizer.train(text + "aaaaab", 280, pattern=pattern)
    saved = nt._NUMPY_MIN_BYTES
    try:
        nt._NUMPY_MIN_BYTES = 2
        tok._cache.clear()
        assert tok.encode(text) == ref_encode(text, list(tok.merges), pattern)
    finally:
        nt._NUMPY_MIN_BYTES = saved


def test_bpe_encoders_agree_on_shakespeare():
    text = nn.datasets.load_tiny_shakespeare()[:20_000]
    tok = BPETokenizer.train(text, 400)
    data = text.encode()
    assert tok._encode_bytes_numpy(data) == ref_encode(text, list(tok.merges))
    saved = nt._NUMPY_MIN_BYTES
    try:
        nt._NUMPY_MIN_BYTES = 10**12  # the heap path on the whole text
        assert tok._encode_bytes(data) == tok._encode_bytes_numpy(data)
    finally:
        nt._NUMPY_MIN_BYTES = saved


@settings(max_examples=60)
@given(any_text, any_text, st.sampled_from(PATTERNS))
def test_bpe_round_trip_any_unicode(train_text, s, pattern):
    tok = BPETokenizer.train(train_text * 3 + s, 300, pattern=pattern)
    ids = tok.encode(s)
    assert tok.decode(ids) == s
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert b"".join(tok.vocab[i] for i in ids) == s.encode("utf-8", "surrogatepass")


@given(any_text)
def test_bpe_untrained_is_bytes(s):
    tok = BPETokenizer()
    assert tok.vocab_size == 256
    assert tok.encode(s) == list(s.encode("utf-8", "surrogatepass"))
    assert tok.decode(tok.encode(s)) == s


def test_bpe_training_is_deterministic_and_fast_enough_to_use():
    text = nn.datasets.load_tiny_shakespeare()[:100_000]
    a = BPETokenizer.train(text, 512)
    b = BPETokenizer.train(text, 512)
    assert a.merges == b.merges and len(a.merges) == 256
    assert a.vocab_size == 512
    ids = a.encode(text)
    assert a.decode(ids) == text
    assert len(ids) < 0.6 * len(text)  # the merges compress
    # GPT-2-style splitting: no token crosses from a word into the space before the next
    c = BPETokenizer.train(text, 512, pattern=GPT2_SPLIT_PATTERN_STDLIB)
    assert c.merges == BPETokenizer.train(text, 512, pattern=GPT2_SPLIT_PATTERN_STDLIB).merges
    words = [t for t in c.vocab.values() if t.strip()]
    assert all(b" " not in t[1:] and b"\n" not in t[1:] for t in words)
    assert any(t.startswith(b" ") for t in words)  # ' the', ' and': a space joins its word
    assert c.decode(c.encode(text)) == text


def test_bpe_decode_invalid_utf8_replaces():
    tok = BPETokenizer()
    assert tok.decode([0xFF]) == "\ufffd"
    assert tok.decode([0xE4, 0xB8]) == "\ufffd"  # a character cut in the middle
    assert tok.decode_bytes(np.array([104, 105])) == b"hi"
    assert tok.decode(ag.Tensor(np.array([104, 105]))) == "hi"


def test_bpe_state_dict_json_round_trip():
    text = "the cat sat on the mat; the cat ate the rat. " * 5
    tok = BPETokenizer.train(text, 300, pattern=GPT2_SPLIT_PATTERN_STDLIB)
    state = json.loads(json.dumps(tok.state_dict()))
    tok2 = BPETokenizer.from_state_dict(state)
    assert tok2.merges == tok.merges and tok2.pattern == tok.pattern
    assert tok2.encode(text) == tok.encode(text)
    tok3 = BPETokenizer()
    tok3.load_state_dict(state)
    assert tok3.vocab == tok.vocab


def test_bpe_errors():
    with pytest.raises(ValueError, match="at least 256"):
        BPETokenizer.train("abc", 255)
    with pytest.raises(TypeError, match="must be a str"):
        BPETokenizer.train(b"abc", 300)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer.train("abc", 300.0)
    with pytest.raises(TypeError, match="expects a str"):
        BPETokenizer().encode(b"abc")
    with pytest.raises(ValueError, match="id 256 at position 0 .* 0\\.\\.255"):
        BPETokenizer().decode([256])
    with pytest.raises(ValueError, match="merge 0 must be a pair of ids made before it"):
        BPETokenizer(merges=[(256, 1)])
    with pytest.raises(ValueError, match="repeat a pair"):
        BPETokenizer(merges=[(1, 2), (1, 2)])
    with pytest.raises(ValueError, match="BPETokenizer.state_dict"):
        BPETokenizer().load_state_dict({"merges": []})
    with pytest.raises(ValueError, match="does not compile"):
        BPETokenizer.train("abc", 300, pattern="(")


def test_bpe_runs_out_of_pairs_with_a_warning():
    with pytest.warns(UserWarning, match="ran out of pairs after 1 merges; vocab_size is 257"):
        tok = BPETokenizer.train("ab", 300)
    assert tok.vocab_size == 257 and tok.encode("ab") == [256]


def test_bpe_p_classes_without_regex_say_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "regex", None)  # `import regex` now raises ImportError
    with pytest.raises(ImportError, match=r"regex.*pip install regex.*GPT2_SPLIT_PATTERN_STDLIB"):
        BPETokenizer.train("hello world", 300, pattern=GPT2_SPLIT_PATTERN)
    tok = BPETokenizer.train("hello world", 260, pattern=GPT2_SPLIT_PATTERN_STDLIB)
    assert tok.decode(tok.encode("hello world")) == "hello world"


def test_bpe_pattern_gaps_are_kept():
    # a pattern that matches only letters: the text between matches stays, as chunks of its own
    tok = BPETokenizer.train("ab, ab; ab!", 260, pattern=r"[a-z]+")
    assert tok.decode(tok.encode("ab, ab; ab! x")) == "ab, ab; ab! x"
    assert tok.vocab[256] == b"ab"


# the std-re spelling of GPT-2's pattern agrees with the real one where the docs say it does
latin_text = st.text(
    alphabet=st.one_of(
        st.characters(
            min_codepoint=0x20, max_codepoint=0x2FF, exclude_categories=("No", "Nl", "Cc")
        ),
        st.sampled_from("\n\t\r  "),
    ),
    max_size=80,
)


@pytest.mark.skipif(regex is None, reason="needs the optional `regex` package")
@given(latin_text)
def test_stdlib_gpt2_pattern_splits_as_gpt2(s):
    assert re.findall(GPT2_SPLIT_PATTERN_STDLIB, s) == regex.findall(GPT2_SPLIT_PATTERN, s)


def test_gpt2_patterns_split_a_sentence():
    s = "Hello world's  123 foo_bar!!\n"
    expected = ["Hello", " world", "'s", " ", " 123", " foo", "_", "bar", "!!", "\n"]
    assert re.findall(GPT2_SPLIT_PATTERN_STDLIB, s) == expected
    if regex is not None:
        assert regex.findall(GPT2_SPLIT_PATTERN, s) == expected
