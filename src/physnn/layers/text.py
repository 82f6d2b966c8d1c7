"""Text to token ids on the host: Keras's ``TextVectorization`` preprocessing layer.

Strings never enter a compiled program, so this is not a ``Layer`` of the parameter-pytree protocol: it is a
host-side stage that a ``Sequential`` model may take as its first element (the CP3 text-classification
exercise writes ``Sequential([encoder, Embedding(len(vocab), 64, mask_zero=True), Bidirectional(LSTM(64)),
Dense(1)])``); the model then applies it to the strings it is given before anything is compiled.

Keras's rules: the text is lower-cased and stripped of ASCII punctuation (``standardize=
"lower_and_strip_punctuation"``), split on whitespace, and each token is mapped to its index in the vocabulary
``["", "[UNK]", most frequent token, ...]`` (at most ``max_tokens`` entries, the two special ones included):
0 is padding (which ``Embedding(mask_zero=True)`` masks), 1 an out-of-vocabulary token.
"""

from __future__ import annotations

import collections
import re
import string

import numpy as np

_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)


class TextVectorization:
    """Strings -> integer token ids [n, sequence_length] (Keras's ``output_mode="int"``).

    Arguments:
        max_tokens: the largest vocabulary (special tokens included), or None for every token seen by ``adapt``.
        standardize: "lower_and_strip_punctuation" (Keras's default), "lower", "strip_punctuation" or None.
        split: "whitespace" (Keras's default) or None (each string is one token).
        output_sequence_length: pad with 0 or truncate every text to this many tokens. None (Keras's default)
            pads to the longest text ``adapt`` saw and truncates longer ones: a compiled model takes one input
            shape (Keras pads each batch to its own longest text instead).
        vocabulary: a list of tokens to use instead of ``adapt`` (without the two special tokens).
    """

    preprocessing = True  # a host-side stage, applied before the compiled model (see the module docstring)

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 output_sequence_length=None, vocabulary=None, output_mode="int", name=None):
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens < 3):
            raise ValueError(f"TextVectorization: max_tokens must be None or an int >= 3, got {max_tokens!r}")
        if standardize not in _STANDARDIZE:
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE}, got {standardize!r}")
        if split not in ("whitespace", None):
            raise ValueError(f"TextVectorization: split must be 'whitespace' or None, got {split!r}")
        if output_sequence_length is not None and (isinstance(output_sequence_length, bool) or not isinstance(
                output_sequence_length, int) or output_sequence_length < 1):
            raise ValueError("TextVectorization: output_sequence_length must be None or a positive int, got "
                             f"{output_sequence_length!r}")
        if output_mode != "int":
            raise ValueError(f"TextVectorization: only output_mode='int' is supported, got {output_mode!r}")
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.output_sequence_length = output_sequence_length
        self.name = name or "text_vectorization"
        self.sequence_length = output_sequence_length
        self._vocabulary: list[str] = []
        self._index: dict[str, int] = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # --- the vocabulary ------------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """One text standardised and split, as the layer reads it."""
        if not isinstance(text, str):
            raise ValueError(f"TextVectorization: expected strings, got {type(text).__name__} {text!r}")
        if self.standardize in ("lower_and_strip_punctuation", "lower"):
            text = text.lower()
        if self.standardize in ("lower_and_strip_punctuation", "strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        return text.split() if self.split == "whitespace" else [text]

    def adapt(self, data) -> None:
        """Learn the vocabulary from ``data`` (strings): tokens by decreasing count, ties in alphabetical order,
        cut to ``max_tokens - 2``; without ``output_sequence_length`` also the padded length (the longest)."""
        texts = _texts(data)
        if not texts:
            raise ValueError("TextVectorization.adapt: no texts given")
        counts = collections.Counter()
        longest = 0
        for text in texts:
            tokens = self.tokens(text)
            counts.update(tokens)
            longest = max(longest, len(tokens))
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        self.set_vocabulary(ranked if self.max_tokens is None else ranked[: self.max_tokens - 2])
        if self.output_sequence_length is None:
            self.sequence_length = max(longest, 1)

    def set_vocabulary(self, vocabulary) -> None:
        tokens = [t for t in vocabulary if t not in ("", "[UNK]")]
        if not all(isinstance(t, str) for t in tokens) or len(set(tokens)) != len(tokens):
            raise ValueError("TextVectorization: the vocabulary must be distinct strings")
        self._vocabulary = ["", "[UNK]", *tokens]
        self._index = {t: i for i, t in enumerate(self._vocabulary)}

    def get_vocabulary(self) -> list[str]:
        """``["", "[UNK]", token, ...]``: index i of the list is token id i."""
        return list(self._vocabulary)

    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    # --- the map -------------------------------------------------------------------------------------

    def __call__(self, data) -> np.ndarray:
        """Token ids of ``data`` (a string or strings) as int32 [n, sequence_length], 0-padded."""
        if not self._vocabulary:
            raise ValueError("TextVectorization: call adapt(texts) (or give vocabulary=) before using it")
        texts = _texts(data)
        ids = [[self._index.get(t, 1) for t in self.tokens(text)] for text in texts]
        length = self.sequence_length or max((len(i) for i in ids), default=1) or 1
        out = np.zeros((len(ids), length), np.int32)
        for row, seq in enumerate(ids):
            seq = seq[:length]
            out[row, : len(seq)] = seq
        return out

    def get_config(self) -> dict:
        return {"max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
                "output_sequence_length": self.output_sequence_length, "name": self.name,
                "vocabulary": self._vocabulary[2:], "sequence_length": self.sequence_length}

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        config = dict(config)
        length = config.pop("sequence_length", None)
        layer = cls(**config)
        layer.sequence_length = length if length is None else int(length)
        return layer

    def __repr__(self):
        return (f"TextVectorization(max_tokens={self.max_tokens!r}, vocabulary of {len(self._vocabulary)}, "
                f"sequence_length={self.sequence_length!r})")


def is_preprocessing(item) -> bool:
    """Whether ``item`` is a host-side stage (``TextVectorization``) rather than a layer."""
    return isinstance(item, TextVectorization)


def _texts(data) -> list:
    if isinstance(data, str):
        return [data]
    if isinstance(data, np.ndarray):
        data = data.reshape(-1).tolist()
    try:
        texts = list(data)
    except TypeError:
        raise ValueError(f"TextVectorization: expected strings, got {type(data).__name__}") from None
    return [t.decode() if isinstance(t, bytes) else t for t in texts]
