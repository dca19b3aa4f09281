"""Text compared the way people read it: without case or accents."""

import unicodedata


def fold(text: str) -> str:
    """Case and accents removed, compatibility forms unified (full-width letters and
    ligatures: "ﬁ" → "fi"; "é" → "e")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped.casefold())


def human_size(size: int) -> str:
    """A number of bytes as people read it, in the product's binary units (the limits' "25
    MB" is 25 * 1024 * 1024 bytes): "512 bytes", "12 KB", "3.4 MB", "250 MB", "10 GB". One
    decimal under 100 of a unit, none from 100 up or when it is .0."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1023.5 or unit == "TB":  # never "1024 KB"
            break
    shown = f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")
    return f"{shown} {unit}"
