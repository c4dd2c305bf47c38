"""Keyed pseudonyms: the SQL HMAC equals Python's, keys behave, the key never leaks into results."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.pseudonymise import DEMO_KEY, KEY_VAR, MissingKeyError, PseudoKey, key_from_environment, sql_hmac

IDS = ["1", "1001", "9999999", "A1B2C3D4E5", "Z9Y8X7W6V5"]


def sql_pseudonyms(key: PseudoKey, namespace: str) -> list[str]:
    ipad, opad = key.pads()
    con = duckdb.connect()
    con.execute("CREATE TABLE ids AS SELECT unnest($ids) AS id", {"ids": IDS})
    return [
        r[0]
        for r in con.execute(f"SELECT {sql_hmac('id', namespace)} FROM ids", {"ipad": ipad, "opad": opad}).fetchall()
    ]


@pytest.mark.parametrize("secret", [bytes(range(32)), bytes(range(64)), bytes(range(100))], ids=["32B", "64B", "100B"])
def test_sql_hmac_equals_python_hmac(secret):
    key = PseudoKey(secret)
    assert sql_pseudonyms(key, "imilo") == [key.pseudonym("imilo", i) for i in IDS]


def test_stable_under_one_key_different_under_another_and_per_namespace():
    a, b = PseudoKey(bytes(range(32))), PseudoKey(bytes(range(1, 33)))
    assert sql_pseudonyms(a, "parcours3") == sql_pseudonyms(a, "parcours3")
    assert not set(sql_pseudonyms(a, "parcours3")) & set(sql_pseudonyms(b, "parcours3"))
    assert not set(sql_pseudonyms(a, "parcours3")) & set(sql_pseudonyms(a, "imilo"))


def test_key_from_environment(monkeypatch):
    monkeypatch.delenv(KEY_VAR, raising=False)
    with pytest.raises(MissingKeyError, match="not set"):
        key_from_environment(allow_demo=False)
    assert key_from_environment(allow_demo=True).is_demo
    monkeypatch.setenv(KEY_VAR, "ab" * 16)
    with pytest.raises(MissingKeyError, match="at least 32 bytes"):
        key_from_environment(allow_demo=False)
    monkeypatch.setenv(KEY_VAR, "zz" * 32)
    with pytest.raises(MissingKeyError, match="hexadecimal") as error:
        key_from_environment(allow_demo=False)
    assert "zz" * 32 not in str(error.value)
    secret = "0f" * 32
    monkeypatch.setenv(KEY_VAR, secret)
    key = key_from_environment(allow_demo=False)
    assert not key.is_demo and key.key_id.startswith("k-")
    assert secret not in repr(key) and secret not in key.key_id


def test_demo_key_is_flagged():
    assert PseudoKey(DEMO_KEY, is_demo=True).key_id.startswith("demo-")
