"""A test-only password hasher that counts its verifications (the timing tests)."""

import threading
from typing import ClassVar, override

from securemail.core.hashers import FastArgon2PasswordHasher


class CountingArgon2PasswordHasher(FastArgon2PasswordHasher):
    """The test suite's Argon2 (same algorithm name, so it checks the same hashes), keeping
    the cost of every hash it verified against (variety, version, time, memory, lanes)."""

    verified: ClassVar[list[tuple[str, int, int, int, int]]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @override
    def verify(self, password: str, encoded: str) -> bool:
        found = self.decode(encoded)
        cost = (
            found["variety"],
            found["version"],
            found["time_cost"],
            found["memory_cost"],
            found["parallelism"],
        )
        with self._lock:
            self.verified.append(cost)
        return super().verify(password, encoded)

    def cost(self) -> tuple[str, int, int, int, int]:
        """What a hash made now costs to verify."""
        return ("argon2id", 19, self.time_cost, self.memory_cost, self.parallelism)
