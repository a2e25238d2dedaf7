"""Users and tokens: registration, login (rate-limited), refresh rotation, logout, and who may call what."""

from __future__ import annotations

import jwt
import pytest


def test_register_answers_as_the_seed_with_working_tokens(client, user):
    assert set(user.tokens) == {"user", "access", "refresh"}
    assert user.tokens["user"]["email"] == user.email and user.tokens["user"]["name"] == "Tester"
    assert {"id", "phone_number"} <= set(user.tokens["user"])
    assert user.get("/api/uploads/").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email", "name": "A", "password": "long enough pw"}, "email"),
    ({"email": "a@example.com", "name": "A", "password": "short"}, "password"),
    ({"email": "a@example.com", "password": "long enough pw"}, "name"),
    ({"email": "a@example.com", "name": "A", "password": "long enough pw", "admin": True}, "admin"),
])
def test_register_rejects_bad_bodies_naming_the_field(client, body, field):
    answer = client.post("/api/auth/register/", json=body)
    assert answer.status_code == 400
    assert field in answer.json["error"]["fields"]
    assert "long enough pw" not in answer.get_data(as_text=True)


def test_an_email_registers_once_whatever_its_case(client, user):
    answer = client.post("/api/auth/register/", json={"email": user.email.upper(), "name": "B",
                                                      "password": "another password"})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "email_taken"


def test_login_gives_new_tokens_and_wrong_passwords_are_401(client, user):
    answer = client.post("/api/auth/login/", json={"email": user.email, "password": user.password})
    assert answer.status_code == 200
    assert answer.json["user"] == {"id": user.tokens["user"]["id"], "email": user.email, "name": "Tester"}
    assert answer.json["access"] != user.tokens["access"]
    wrong = client.post("/api/auth/login/", json={"email": user.email, "password": "wrong password"})
    unknown = client.post("/api/auth/login/", json={"email": "nobody@example.com", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json  # no hint whether the email exists


def test_failed_logins_are_rate_limited_per_email(client, user):
    for _ in range(3):  # login_max_failures=3 in the test settings
        assert client.post("/api/auth/login/", json={"email": user.email, "password": "nope nope"}).status_code == 401
    answer = client.post("/api/auth/login/", json={"email": user.email, "password": user.password})
    assert answer.status_code == 429
    assert answer.json["error"]["code"] == "too_many_attempts" and int(answer.headers["Retry-After"]) > 0


def test_a_successful_login_resets_the_failure_count(client, user):
    for _ in range(2):
        client.post("/api/auth/login/", json={"email": user.email, "password": "nope nope"})
    assert client.post("/api/auth/login/", json={"email": user.email, "password": user.password}).status_code == 200
    for _ in range(2):
        client.post("/api/auth/login/", json={"email": user.email, "password": "nope nope"})
    assert client.post("/api/auth/login/", json={"email": user.email, "password": user.password}).status_code == 200


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(client, user):
    first = client.post("/api/auth/refresh/", json={"refresh": user.tokens["refresh"]})
    assert first.status_code == 200 and set(first.json) == {"access", "refresh"}
    assert client.get("/api/uploads/", headers={"Authorization": f"Bearer {first.json['access']}"}).status_code == 200
    replay = client.post("/api/auth/refresh/", json={"refresh": user.tokens["refresh"]})
    assert replay.status_code == 401 and replay.json["error"]["code"] == "session_ended"
    # the replay ended the login: the newest tokens stop working too
    assert client.post("/api/auth/refresh/", json={"refresh": first.json["refresh"]}).status_code == 401
    assert client.get("/api/uploads/", headers={"Authorization": f"Bearer {first.json['access']}"}).status_code == 401


def test_logout_ends_the_access_and_refresh_tokens(client, user):
    assert user.get("/api/auth/logout/").json == {"message": "Successfully logged out."}
    answer = user.get("/api/uploads/")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "session_ended"
    assert client.post("/api/auth/refresh/", json={"refresh": user.tokens["refresh"]}).status_code == 401


def test_tokens_of_the_wrong_type_or_signature_are_refused(client, user, api_token):
    as_access = client.get("/api/uploads/", headers={"Authorization": f"Bearer {user.tokens['refresh']}"})
    assert as_access.status_code == 401 and as_access.json["error"]["code"] == "invalid_token"
    as_refresh = client.post("/api/auth/refresh/", json={"refresh": user.tokens["access"]})
    assert as_refresh.status_code == 401
    claims = jwt.decode(user.tokens["access"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not the key, though long enough for HS256", algorithm="HS256")
    assert client.get("/api/uploads/", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert client.get("/api/uploads/", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401
    # the instance token (for the manager) is not a user token
    assert client.get("/api/uploads/", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401


def test_expired_access_tokens_say_so(client, user, app):
    auth = app.config["SERVICE"].auth
    claims = jwt.decode(user.tokens["access"], options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": claims["iat"] - 1}, auth.key, algorithm="HS256")
    answer = client.get("/api/uploads/", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and answer.json["error"]["code"] == "token_expired"


@pytest.mark.parametrize("path", ["/api/uploads/", "/api/reports/", "/api/schedules/", "/api/auth/logout/",
                                  "/api/download-report-view/"])
def test_every_user_route_needs_a_token(client, path):
    answer = client.get(path)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"


def test_the_process_contract_still_uses_the_instance_token(client, user, api_token):
    assert client.get("/queue").status_code == 401
    assert client.get("/queue", headers=user.headers).status_code == 401
    assert client.get("/queue", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200


def test_the_openapi_document_names_both_schemes(client):
    doc = client.get("/openapi.json").json
    assert doc["paths"]["/api/generate-report/"]["post"]["security"] == [{"userAuth": []}]
    assert doc["paths"]["/queue"]["get"]["security"] == [{"bearerAuth": []}]
    assert set(doc["components"]["securitySchemes"]) == {"userAuth", "bearerAuth"}
    assert "security" not in doc["paths"]["/api/auth/login/"]["post"]
