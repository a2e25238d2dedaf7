import json
import logging

import pytest
from cryptography.fernet import Fernet

from hub_runtime.jsonlog import JsonFormatter, log_context, redact
from hub_runtime.secrets import SecretBox


def test_encrypts_and_rotates_keys():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = SecretBox([old]).encrypt({"password": "gygag"})
    assert "gygag" not in token
    rotated_box = SecretBox([new, old])
    assert rotated_box.decrypt(token) == {"password": "gygag"}
    rotated = rotated_box.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == {"password": "gygag"}
    with pytest.raises(ValueError, match="cannot be decrypted"):
        SecretBox([new]).decrypt(token)


def test_any_json_value_survives_encryption():
    box = SecretBox([Fernet.generate_key()])
    for values in ({"password": "pässwörd ✓"}, {"password": "lone \ud800 surrogate"}, {"pin": 2**70, "x": None}):
        assert box.decrypt(box.encrypt(values)) == values


def test_tokens_are_aes_gcm_bound_to_their_key_and_unforgeable():
    key = Fernet.generate_key()
    box = SecretBox([key])
    token = box.encrypt({"password": "gygag"})
    assert token.startswith("g1.") and token != box.encrypt({"password": "gygag"})  # a fresh nonce each time
    assert box.decrypt(token) == {"password": "gygag"}
    version, key_id, body = token.split(".", 2)
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    for forged in (f"{version}.{key_id}.{flipped}", f"{version}.{key_id}.", f"{version}.{key_id}.!!",
                   f"{version}.ffffffff.{body}", "g1.", "not a token"):
        with pytest.raises(ValueError, match="cannot be decrypted"):
            box.decrypt(forged)


def test_fernet_tokens_of_earlier_versions_still_decrypt_and_rotate_to_aes_gcm():
    key = Fernet.generate_key()
    legacy = Fernet(key).encrypt(b'{"username": "admin", "password": "gygag"}').decode()
    box = SecretBox([key])
    assert box.decrypt(legacy) == {"username": "admin", "password": "gygag"}
    rotated = box.rotate(legacy)
    assert rotated.startswith("g1.") and box.decrypt(rotated) == {"username": "admin", "password": "gygag"}


def test_generated_key_file_is_private_and_reused(tmp_path):
    first = SecretBox.from_setting(None, tmp_path)
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert SecretBox.from_setting(None, tmp_path).decrypt(first.encrypt({"a": 1})) == {"a": 1}


def test_fingerprint_depends_on_every_value():
    box = SecretBox([Fernet.generate_key()])
    assert box.fingerprint({"a": 1, "b": 2}) == box.fingerprint({"b": 2, "a": 1})
    assert box.fingerprint({"a": 1}) != box.fingerprint({"a": 2})


def test_json_log_lines_carry_context_and_hide_secrets():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.password = "gygag"
    record.body = {"username": "admin", "api_token": "abc", "nested": [{"secret_key": "k"}]}
    with log_context(uniqueid="u-1"):
        line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello x" and line["uniqueid"] == "u-1"
    assert line["password"] == "***" and line["body"]["api_token"] == "***"
    assert line["body"]["nested"][0]["secret_key"] == "***" and line["body"]["username"] == "admin"
    assert "gygag" not in json.dumps(line)
    assert redact({"Authorization": "Bearer x"}) == {"Authorization": "***"}


def test_artifact_store_writes_lists_serves_and_prunes(tmp_path):
    import os
    import time

    from hub_runtime.artifacts import ArtifactStore

    store = ArtifactStore(tmp_path)
    store.write("task1", "a1-page.html", b"<html>")
    store.write("task2", "a1-page.html", b"<html>")
    assert [a.name for a in store.list("task1")] == ["a1-page.html"]
    assert store.path("task1", "../task2/a1-page.html") is None
    with pytest.raises(ValueError):
        store.write("task1", "../escape", b"")
    old = time.time() - 7200
    os.utime(tmp_path / "task1", (old, old))
    assert store.prune(3600) == 1
    assert store.list("task1") == [] and len(store.list("task2")) == 1


def test_a_saved_page_keeps_no_form_value_but_keeps_button_labels(tmp_path):
    from hub_runtime.artifacts import ArtifactStore

    page = (b'<form><input name="user" value="admin"><INPUT type=password name=pw VALUE=gygag>'
            b"<input name='note' value='a > b' data-x=\"1\"><input type=\"submit\" value=\"Add line\">"
            b'<textarea name="c">Mr Smith, 12 Main St</textarea><p>value="kept in text"</p></form>')
    path = ArtifactStore(tmp_path).write("task1", "a1-page.html", page)
    saved = path.read_bytes()
    for secret in (b"admin", b"gygag", b"a > b", b"Mr Smith"):
        assert secret not in saved
    assert saved.count(b"[redacted]") == 4
    assert b'value="Add line"' in saved and b'<p>value="kept in text"</p>' in saved
    assert ArtifactStore(tmp_path).write("task1", "a1-shot.png", b'value="x"').read_bytes() == b'value="x"'


def test_an_artifact_past_its_retention_is_neither_listed_nor_served(tmp_path):
    import os
    import time

    from hub_runtime.artifacts import ArtifactStore

    store = ArtifactStore(tmp_path)
    old = store.write("task1", "a1-page.html", b"<html>")
    store.write("task1", "a2-page.html", b"<html>")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert [a.name for a in store.list("task1", 3600)] == ["a2-page.html"]
    assert store.path("task1", "a1-page.html", 3600) is None
    assert store.path("task1", "a1-page.html") == old  # without a retention: the pruning's view


def test_json_log_timestamp_is_utc_milliseconds_and_extras_keep_their_types():
    from datetime import UTC, datetime

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "plain", (), None)
    record.status, record.ms, record.flag, record.nothing = 200, 1.5, True, None
    line = json.loads(JsonFormatter().format(record))
    written = datetime.fromisoformat(line["ts"])
    assert written.utcoffset().total_seconds() == 0
    assert abs((written - datetime.fromtimestamp(record.created, UTC)).total_seconds()) < 0.002  # ms, truncated
    assert line["ts"].endswith("+00:00") and len(line["ts"]) == len("2024-01-01T00:00:00.000+00:00")
    assert (line["status"], line["ms"], line["flag"], line["nothing"]) == (200, 1.5, True, None)
