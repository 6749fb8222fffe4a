"""The box editor's one server route: live layout prediction as the user types.

POST /spacetime/layout/predict {"text": str, "width": int, "height": int, "seed": int, "editor": str (optional)}
-> 200 {"layout": <layout dict>, "limits": {"phrase_chars": int}}, or {"error": str, "field": str} with 400 (bad
input), 409 (superseded: a newer request of the same editor arrived while this one waited), 503 (too many
predictions waiting) or 500; never a traceback. `limits` hands the editor the layout contract's bound on the
strings it lets users type (names and local prompts), so the JS keeps no copy of its own. Predictions run off the
event loop through prediction_queue, so a long prompt never stalls ComfyUI's other requests.
"""
from __future__ import annotations

import logging
import re

from ..layout_model import LayoutError, predict
from ..layout_model.schema import MAX_PHRASE_CHARS, MAX_SEED, check_side, check_text
from .prediction_queue import PredictionQueue, Refused

ROUTE = "/spacetime/layout/predict"
MAX_BODY_BYTES = 64 * 1024
LIMITS = {"phrase_chars": MAX_PHRASE_CHARS}
EDITOR_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# One worker: prediction holds the GIL, so a second thread would not predict faster, only take more turns from
# the event loop. 16 waiting requests are 16 editors typing at once (each keeps one), about 2 s of work.
WORKERS = 1
MAX_WAITING = 16


def parse_request(body: object) -> tuple[str | None, dict]:
    """Checks types and limits of a prediction request; returns (editor id or None, the arguments of `predict`).
    Raises LayoutError naming the field."""
    if not isinstance(body, dict):
        raise LayoutError("body", "the request body must be a JSON object")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise LayoutError("seed", f"expected an integer in 0..{MAX_SEED}")
    editor = body.get("editor")
    if editor is not None and not (isinstance(editor, str) and EDITOR_ID.fullmatch(editor)):
        raise LayoutError("editor", "expected 1 to 64 letters, digits, '_', '.', ':' or '-'")
    return editor, {"text": check_text(body.get("text")), "width": check_side(body.get("width", 512), "width"),
                    "height": check_side(body.get("height", 512), "height"), "seed": seed}


def register(prompt_server) -> None:
    from aiohttp import web

    queue = PredictionQueue(WORKERS, MAX_WAITING)

    @prompt_server.routes.post(ROUTE)
    async def predict_layout(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"error": "request too large", "field": "body"}, status=413)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the request body is not valid JSON", "field": "body"}, status=400)
        try:
            editor, arguments = parse_request(body)
            layout = await queue.run(editor, lambda: predict(**arguments).to_dict())
        except LayoutError as err:
            return web.json_response({"error": str(err), "field": err.field}, status=400)
        except Refused as refused:
            return web.json_response({"error": str(refused), "field": refused.field}, status=refused.status)
        except Exception:  # the route must answer JSON whatever the predictor does
            logging.exception("SpaceTime: layout prediction failed")
            return web.json_response({"error": "layout prediction failed; see the server log", "field": "text"},
                                     status=500)
        return web.json_response({"layout": layout, "limits": LIMITS})
