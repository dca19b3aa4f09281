"""The search index's words: how text becomes the terms a message is found by, and how those
terms become tokens (keyed hashes) that a database dump can't read.

A word is a run of letters and digits, compared without case or accents ("Déjà-vu" is the
two words "deja" and "vu"). A message is indexed under each of its words; the words of its
subject and of its correspondents (names, addresses, practices) also under their starts, from
MIN_PREFIX up to MAX_PREFIX letters ("Smithson" also under "smi", "smit", ... "smithso"), so
a name or a subject word is found by its first letters. The body's words are found whole:
their starts would triple the index (and the cost of every send) for a little convenience.
Each term is stored as the first 8 bytes of HMAC-SHA256 under a key of its owner and of the
message's expiry day (`core.crypto.index_key`): the same term is a different token for
another person or another day, and a day's tokens can't be computed once that day's
shredding key is destroyed.
"""

import hmac
import re
from collections.abc import Iterable, Iterator
from datetime import date

from securemail.core import crypto
from securemail.core.text import fold

MIN_PREFIX = 3
MAX_PREFIX = 10
# Longer runs of letters (a pasted key, a long URL) are indexed and searched by their start.
MAX_WORD = 40
# Terms one person's index holds for one message: the subject's and the correspondents'
# first, then the body's in order (a 100 KB body is searchable by its first few thousand
# distinct words and their starts).
MAX_TERMS = 2000
TOKEN_BYTES = 8

# Letters and digits, with any combining accents that follow them (stripped below).
_WORD = re.compile(r"(?:[^\W_][\u0300-\u036f]*)+")


def words(text: str) -> list[str]:
    """The words of `text`, folded, in order (repeats kept)."""
    folded = text.lower() if text.isascii() else fold(text)
    return [w[:MAX_WORD] for w in _WORD.findall(folded)]


def word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Where each word is in `text` as written (start, end) and its folded form: for marking
    matches in the original text."""
    for match in _WORD.finditer(text):
        found = match.group()
        # ASCII folds to its lower case (NFKD changes nothing there): the common case, fast.
        folded = found.lower() if found.isascii() else fold(found)
        # Folding can split a run (a ligature, a symbol that folds to punctuation): a span
        # matches if any of its folded words does.
        for word in _WORD.findall(folded):
            yield match.start(), match.end(), word[:MAX_WORD]


def terms_of(word: str) -> list[str]:
    """The terms a word is indexed under: its starts of MIN_PREFIX..MAX_PREFIX letters, and
    itself."""
    starts = [word[:n] for n in range(MIN_PREFIX, min(MAX_PREFIX, len(word) - 1) + 1)]
    return [*starts, word]


def terms(texts: Iterable[str], *, starts: bool = True) -> list[str]:
    """The distinct terms of these texts, in the order they first appear: each word, and
    with `starts` its starts too."""
    found: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            for term in terms_of(word) if starts else [word]:
                found.setdefault(term, None)
    return list(found)


def matches(word: str, query_word: str, *, starts: bool = True) -> bool:
    """Whether a folded word of a message is one the query word finds (the rule of the
    terms above: the whole word, or with `starts` a start of MIN_PREFIX..MAX_PREFIX
    letters)."""
    if word == query_word:
        return True
    return starts and MIN_PREFIX <= len(query_word) <= MAX_PREFIX and word.startswith(query_word)


def owner_scope(owner_id: int) -> str:
    return f"search:user:{owner_id}"


def owner_day_key(owner_id: int, day: date, version: int | None = None) -> tuple[int, bytes]:
    """(keyring version, key) of `owner_id`'s index for messages expiring on `day`: the
    active version unless given. DecryptionError once the day's key is shredded."""
    # Not cached here: the ratchet can move on while a process runs, and core.crypto caches
    # the derivation by the key material itself.
    return crypto.index_key(day=day, scope=owner_scope(owner_id), version=version)


def token(key: bytes, term: str) -> int:
    """A term's token: the first 8 bytes of HMAC-SHA256(key, term), as a signed 64-bit
    integer (what a BIGINT column holds)."""
    digest = hmac.digest(key, term.encode(), "sha256")
    return int.from_bytes(digest[:TOKEN_BYTES], "big", signed=True)


def tokens(key: bytes, terms: Iterable[str]) -> list[int]:
    """`token` of each term, in order: a send computes a few hundred (one loop here, not a
    call per term)."""
    digest, from_bytes = hmac.digest, int.from_bytes
    return [
        from_bytes(digest(key, term.encode(), "sha256")[:TOKEN_BYTES], "big", signed=True)
        for term in terms
    ]
