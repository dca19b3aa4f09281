"""Password hashing plumbing: the test suite's cheap Argon2, and the verification a failed
login runs when there is no password to check (so that every failed login costs the same)."""

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, get_hasher
from django.utils.crypto import get_random_string

# One hash of no one's password per hasher class (and its current parameters), made on
# first use: verifying against it costs what verifying a real password costs.
_dummy_hashes: dict[type[BasePasswordHasher], str] = {}


def verify_nobodys_password(password: str) -> None:
    """Run the configured (default) hasher's verification once, against a hash of a random
    password, and ignore the answer: for a login whose account has no password to check
    (none, invited, not registered to the end), so that it costs exactly what checking a
    wrong password costs (as Django's ModelBackend hashes for an unknown user)."""
    hasher = get_hasher()
    encoded = _dummy_hashes.get(type(hasher))
    if encoded is None or hasher.must_update(encoded):
        encoded = hasher.encode(get_random_string(32), hasher.salt())
        _dummy_hashes[type(hasher)] = encoded
    hasher.verify(password, encoded)


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with tiny costs, for the test suite only (same algorithm, same format)."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1
