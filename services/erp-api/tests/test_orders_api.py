

def test_a_body_over_the_limit_is_a_413_naming_it_and_stores_nothing(client, order):
    answer = client.post("/create", json={**order, "uniqueid": "huge", "note": "x" * 2**21})
    assert answer.status_code == 413
    assert answer.json["error"]["code"] == "body_too_large" and "1048576 bytes" in answer.json["error"]["message"]
    assert client.get("/get_order_status?uniqueid=huge").status_code == 404
