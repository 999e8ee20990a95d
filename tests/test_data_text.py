"""Text data: tokenizer, vocabulary, padding, AG News CSV, the synthetic order/negation set."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune.data.text import (
    AG_NEWS_CLASSES,
    Tokenizer,
    Vocabulary,
    make_text_classification,
    pad_batch,
    read_ag_news,
)


def test_tokenizer_lowercases_and_splits_words():
    tok = Tokenizer()
    assert tok("Wall St. Bears Claw Back, don't panic!") == [
        "wall",
        "st",
        "bears",
        "claw",
        "back",
        "don't",
        "panic",
    ]
    assert Tokenizer(lowercase=False)("Hi there") == ["Hi", "there"]
    assert tok("  ,;  ") == []
    with pytest.raises(TypeError, match="text must be a str, got list"):
        tok(["a"])


def test_vocabulary_build_order_and_encode_decode():
    texts = ["b a b", "c b a", ["d", "a"]]
    vocab = Vocabulary.build(texts)
    # counts: b=3, a=3, c=1, d=1 -> by count, ties alphabetical.
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "c", "d"]
    assert vocab.pad_id == 0 and vocab.unk_id == 1 and len(vocab) == 6
    assert "c" in vocab and "z" not in vocab
    ids = vocab.encode(["b", "zzz", "d"])
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [3, 1, 5])
    assert vocab.decode(ids) == ["b", "<unk>", "d"]
    assert Vocabulary.build(texts, min_freq=2).itos == ["<pad>", "<unk>", "a", "b"]
    assert Vocabulary.build(texts, max_size=3).itos == ["<pad>", "<unk>", "a"]
    assert Vocabulary.build(texts, specials=("<pad>", "<unk>", "<cls>")).itos[:3] == [
        "<pad>",
        "<unk>",
        "<cls>",
    ]


def test_vocabulary_errors():
    with pytest.raises(ValueError, match="min_freq must be a positive integer, got 0"):
        Vocabulary.build(["a"], min_freq=0)
    with pytest.raises(ValueError, match=r"max_size must be at least len\(specials\) = 2, got 1"):
        Vocabulary.build(["a"], max_size=1)
    with pytest.raises(ValueError, match="'a' appears twice"):
        Vocabulary(["a", "b", "a"], unk_token=None, pad_token=None)
    with pytest.raises(ValueError, match="unk_token '<unk>' is not in the vocabulary"):
        Vocabulary(["a"])
    no_unk = Vocabulary.build(["a"], specials=("<pad>",))
    assert no_unk.unk_id is None
    with pytest.raises(KeyError, match="'q' is not in the vocabulary and it has no unk_token"):
        no_unk.encode(["q"])
    vocab = Vocabulary.build(["a"])
    with pytest.raises(TypeError, match="tokenize it first"):
        vocab.encode("a")
    with pytest.raises(ValueError, match=r"id must be in \[0, 3\), got 7"):
        vocab.decode([7])


def test_pad_batch_pads_truncates_and_masks():
    ids, pad = pad_batch([[5, 6, 7], [8], []], pad_id=0)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(pad, [[0, 0, 0], [0, 1, 1], [1, 1, 1]])
    assert ids.dtype == np.int64 and pad.dtype == bool
    ids, pad = pad_batch([np.array([1, 2, 3, 4]), [9]], max_len=2, pad_id=3)
    np.testing.assert_array_equal(ids, [[1, 2], [9, 3]])
    np.testing.assert_array_equal(pad, [[False, False], [False, True]])
    with pytest.raises(ValueError, match="max_len must be a positive integer, got 0"):
        pad_batch([[1]], max_len=0)
    with pytest.raises(ValueError, match="pad_id must be a non-negative integer, got -1"):
        pad_batch([[1]], pad_id=-1)
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_batch([])


def test_read_ag_news_quotes_commas_and_labels(tmp_path):
    p = tmp_path / "train.csv"
    p.write_text(
        '"3","Wall St. Bears Claw Back, Again","Short-sellers, Wall Street\'s ""dwindling"" band"\n'
        '"1","Title","line one\\nline two"\n'
        '"4","Multi\nline title","desc"\n'
        "2,Plain,unquoted\n",
        encoding="utf-8",
    )
    texts, y = read_ag_news(p)
    np.testing.assert_array_equal(y, [2, 0, 3, 1])
    assert (
        texts[0] == 'Wall St. Bears Claw Back, Again Short-sellers, Wall Street\'s "dwindling" band'
    )
    assert texts[1] == "Title line one line two"
    assert texts[2] == "Multi\nline title desc"
    assert AG_NEWS_CLASSES[y[0]] == "Business"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('"1","a","b"\n"5","c","d"\n', r"line 2: class must be 1-4, got '5'"),
        ('"1","a","b"\n"x","c","d"\n', r"line 2: class must be 1-4, got 'x'"),
        ('"1","a","b"\n"2","c"\n', r"line 2: expected 3 fields \(class,title,description\), got 2"),
        ('"1","a\nb","c"\n"2","c","d","e"\n', r"line 3: expected 3 fields .* got 4"),
        ("", "holds no rows"),
    ],
)
def test_read_ag_news_errors_name_the_line(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_ag_news(p)


def test_read_ag_news_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="AG News CSV file not found"):
        read_ag_news(tmp_path / "missing.csv")
    p = tmp_path / "latin.csv"
    p.write_bytes(b'"1","caf\xe9","x"\n')
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        read_ag_news(p)


def _label_of(tokens: list[str]) -> int:
    """Independent statement of the rule in the docstring."""
    alpha_first = tokens.index("alpha") < tokens.index("beta")
    word = "good" if "good" in tokens else "bad"
    at = tokens.index(word)
    negated = at > 0 and tokens[at - 1] == "not"
    positive = (word == "good") != negated
    return 2 * int(alpha_first) + int(positive)


def test_synthetic_text_rule_balance_and_determinism():
    texts, y = make_text_classification(400, seed=3, min_len=5, max_len=9)
    tok = Tokenizer()
    for text, label in zip(texts, y, strict=True):
        tokens = tok(text)
        assert 5 <= len(tokens) <= 9 and tokens == text.split()
        for key in ("alpha", "beta", "not"):
            assert tokens.count(key) == 1
        assert tokens.count("good") + tokens.count("bad") == 1
        assert _label_of(tokens) == label
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100, 100])
    again = make_text_classification(400, seed=3, min_len=5, max_len=9)
    assert again[0] == texts and np.array_equal(again[1], y)
    assert make_text_classification(400, seed=4, min_len=5, max_len=9)[0] != texts
    assert np.bincount(make_text_classification(7, seed=0)[1]).tolist() == [2, 2, 2, 1]


def test_synthetic_text_defeats_bag_of_words_but_not_order_features():
    sklearn = pytest.importorskip("sklearn.linear_model")
    texts, y = make_text_classification(3000, seed=0)
    vocab = Vocabulary.build(texts)
    tok = Tokenizer()
    seqs = [tok(t) for t in texts]
    bow = np.zeros((len(texts), len(vocab)))
    for row, s in enumerate(seqs):
        np.add.at(bow[row], vocab.encode(s), 1.0)
    # Two order-aware features: the two bits of the rule (bigram "not <word>" and order).
    order = np.array([[s.index("alpha") < s.index("beta")] for s in seqs], dtype=float)
    bigram = np.array(
        [
            [s.index(w) > 0 and s[s.index(w) - 1] == "not" for w in ("good", "bad") if w in s]
            for s in seqs
        ],
        dtype=float,
    )
    good = bow[:, [vocab.stoi["good"]]]
    xor = (bigram != good).astype(float)  # positive bit, from the bigram and the word
    train, test = slice(0, 2000), slice(2000, None)
    bow_acc = (
        sklearn.LogisticRegression(max_iter=2000)
        .fit(bow[train], y[train])
        .score(bow[test], y[test])
    )
    seq = np.hstack([order, xor])
    seq_acc = (
        sklearn.LogisticRegression(max_iter=2000)
        .fit(seq[train], y[train])
        .score(seq[test], y[test])
    )
    # Chance is 0.25; 1000 test samples give a standard error of about 0.014.
    assert bow_acc < 0.32, bow_acc
    assert seq_acc > 0.99, seq_acc


def test_synthetic_text_errors():
    with pytest.raises(ValueError, match="min_len must be at least 4"):
        make_text_classification(10, min_len=3)
    with pytest.raises(ValueError, match="max_len must be at least min_len = 8, got 6"):
        make_text_classification(10, min_len=8, max_len=6)
    with pytest.raises(ValueError, match="n_samples must be a positive integer, got 0"):
        make_text_classification(0)
    with pytest.raises(ValueError, match=r"n_samples must be at least n_classes \(4\), got 3"):
        make_text_classification(3)
