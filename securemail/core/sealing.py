"""What a model that stores encrypted data states about itself.

A sealed row keeps a wrapped data key (`wrapped_key`, with the keyring version in
`key_version`) and fields sealed under that key. The associated data of each ciphertext
names what it belongs to; the model spells those names, in one place, so that the code that
seals, the code that opens and key rotation (`manage.py keys rewrap`, which finds every
model through this class) can never disagree on a spelling.
"""


class SealedRow:
    """Mixin for models holding a wrapped data key and fields sealed under it."""

    # The parts sealed under the row's data key, e.g. ("subject", "body").
    sealed_parts: tuple[str, ...] = ()
    # The fields key_context() reads besides the primary key (so a batch can load just them).
    key_context_fields: tuple[str, ...] = ()

    def key_context(self) -> str:
        """What the wrapped data key is bound to (its row, and what the row belongs to)."""
        raise NotImplementedError

    def context_prefix(self) -> str:
        """The start of every part's context: "<row kind>:<primary key>"."""
        raise NotImplementedError

    def sealed_context(self, part: str) -> str:
        """The associated data of one sealed part (ValueError for a part the row lacks)."""
        if part not in self.sealed_parts:
            raise ValueError(f"{type(self).__name__} seals no part named {part!r}")
        return f"{self.context_prefix()}:{part}"
