"""The box editor's live-prediction route answers layouts, and JSON errors (never tracebacks) for bad input."""
import urllib.request

from layout_model.schema import MAX_PHRASE_CHARS

ROUTE = "/spacetime/layout/predict"


def test_route_predicts_a_layout(comfy_server):
    status, body = comfy_server.post_json(ROUTE, {"text": "a cat to the left of a dog", "width": 640,
                                                  "height": 384, "seed": 0})
    assert status == 200
    layout = body["layout"]
    assert [o["noun"] for o in layout["objects"]] == ["cat", "dog"]
    assert layout["width"] == 640 and layout["height"] == 384
    assert layout["objects"][0]["center"][0] < layout["objects"][1]["center"][0]
    assert body["limits"] == {"phrase_chars": MAX_PHRASE_CHARS}   # the editor's only copy of a limit


def test_route_rejects_bad_fields_with_json(comfy_server):
    cases = [({"text": 5}, "text"), ({"text": "a cat", "width": "wide"}, "width"),
             ({"text": "a cat", "height": 10**6}, "height"), ({"text": "x" * 30000}, "text"), ([1, 2], "body"),
             ({"text": "a cat", "width": 32}, "width"), ({"text": "a cat", "seed": -1}, "seed")]
    for body, field in cases:
        status, answer = comfy_server.post_json(ROUTE, body)
        assert status == 400, (body, status, answer)
        assert answer["field"] == field and answer["error"]


def test_route_rejects_invalid_json_without_traceback(comfy_server):
    req = urllib.request.Request(comfy_server.url + ROUTE, data=b"{oops", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("expected HTTP 400")
    except urllib.error.HTTPError as err:
        assert err.code == 400
        payload = err.read().decode()
        assert "Traceback" not in payload and "not valid JSON" in payload
