"""Text compared the way people read it: without case or accents."""

import unicodedata


def fold(text: str) -> str:
    """Case and accents removed, compatibility forms unified (full-width letters and
    ligatures: "ﬁ" → "fi"; "é" → "e")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped.casefold())
