"""Configuration read from the environment: an empty value is the same as no value."""

import pytest

from securemail.core.env import env_bool, env_int, env_list, env_secret, env_str


def test_an_empty_variable_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    assert env_str("DATABASE_URL", "sqlite:///var/db.sqlite3") == "sqlite:///var/db.sqlite3"


def test_a_set_variable_wins_over_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://db/securemail")
    assert env_str("DATABASE_URL", "sqlite:///x") == "postgres://db/securemail"


def test_empty_bool_int_and_list_use_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLAG", "COUNT", "HOSTS"):
        monkeypatch.setenv(name, "")
    assert env_bool("FLAG", True) is True
    assert env_int("COUNT", 7) == 7
    assert env_list("HOSTS", "a.test, b.test") == ["a.test", "b.test"]


def test_a_secret_is_read_from_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("API_KEY", "from-the-variable")
    monkeypatch.setenv("API_KEY_FILE", str(secret))
    assert env_secret("API_KEY") == "from-the-file"
    monkeypatch.delenv("API_KEY_FILE")
    assert env_secret("API_KEY") == "from-the-variable"
    monkeypatch.setenv("API_KEY", "")
    assert env_secret("API_KEY", "fallback") == "fallback"
