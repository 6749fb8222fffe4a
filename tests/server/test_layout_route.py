"""The box editor's live-prediction route answers layouts, and JSON errors (never tracebacks) for bad input; its
predictions never stall ComfyUI's other requests."""
import urllib.request

from layout_model.schema import MAX_PHRASE_CHARS
from support.route_load import ROUTE, TYPIST, probe_under_load


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
             ({"text": "a cat", "width": 32}, "width"), ({"text": "a cat", "seed": -1}, "seed"),
             ({"text": "a cat", "editor": 7}, "editor"), ({"text": "a cat", "editor": ""}, "editor"),
             ({"text": "a cat", "editor": "e" * 65}, "editor"), ({"text": "a cat", "editor": "<b>x</b>"}, "editor")]
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


def test_route_predicts_for_a_named_editor(comfy_server):
    status, body = comfy_server.post_json(ROUTE, {"text": "a cat above a dog", "editor": "node-7:0.5f3a"})
    assert status == 200 and [o["noun"] for o in body["layout"]["objects"]] == ["cat", "dog"]


def test_unrelated_requests_stay_fast_while_editors_predict(comfy_server):
    """40 editors each ask for the longest prompt at once while a typist sends 15 more; GET /system_stats is timed
    every 100 ms until all have answered.

    Bounds: median 0.5 s, max 3 s. Measured on the 2-core CI VM with other tests running beside it, both cores:
    median 9-76 ms, max 0.32-0.48 s (the loop waits up to one 5 ms GIL switch interval each time it needs the
    interpreter back from the prediction thread; the max is the moment 40 requests arrive at once). Before
    predictions left the event loop: median 6.2-9.1 s, max 9.2-13.6 s, only 2 probes in the whole load, since
    every prediction (0.14-0.4 s each) blocked the loop in turn. The bounds leave 6x headroom over the worst run
    for a slower, busier machine and still fail by an order of magnitude when the loop blocks
    (docs/benchmarks.md, "Editor route under load")."""
    result = probe_under_load(comfy_server, editors=40, burst=15)
    numbers = (f"median {result.median:.3f} s, max {result.worst:.3f} s over {len(result.latencies)} requests in "
               f"{result.seconds:.1f} s")
    samples, median, worst = len(result.latencies), result.median, result.worst
    assert samples >= 5, numbers   # the probe ran throughout the load
    assert median < 0.5 and worst < 3.0, numbers
    for editor, status, body in result.answers:
        assert status in (200, 409, 503), (editor, status, body)
        assert status == 200 or (body["field"] == "editor" and body["error"]), (editor, status, body)
    typist = result.statuses(TYPIST)
    assert typist.count(409) >= 1, typist      # its stale requests were dropped, not queued
    others = [status for editor, status, _ in result.answers if editor != TYPIST]
    assert others.count(503) >= 1 and others.count(200) >= 1, others   # the waiting cap refused some
    assert all("superseded" in body["error"] for _, status, body in result.answers if status == 409)
