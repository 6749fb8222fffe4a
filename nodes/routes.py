"""The box editor's one server route: live layout prediction as the user types.

POST /spacetime/layout/predict {"text": str, "width": int, "height": int, "seed": int}
-> 200 {"layout": <layout dict>, "limits": {"phrase_chars": int}} or 400 {"error": str, "field": str};
never a traceback. `limits` hands the editor the layout contract's bound on the strings it lets users type
(names and local prompts), so the JS keeps no copy of its own.
"""
from __future__ import annotations

import logging

from ..layout_model import LayoutError, predict
from ..layout_model.schema import MAX_PHRASE_CHARS, MAX_SEED, check_side, check_text

ROUTE = "/spacetime/layout/predict"
MAX_BODY_BYTES = 64 * 1024
LIMITS = {"phrase_chars": MAX_PHRASE_CHARS}


def parse_request(body: object) -> dict:
    """Checks types and limits of a prediction request; raises LayoutError naming the field."""
    if not isinstance(body, dict):
        raise LayoutError("body", "the request body must be a JSON object")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise LayoutError("seed", f"expected an integer in 0..{MAX_SEED}")
    return {"text": check_text(body.get("text")), "width": check_side(body.get("width", 512), "width"),
            "height": check_side(body.get("height", 512), "height"), "seed": seed}


def register(prompt_server) -> None:
    from aiohttp import web

    @prompt_server.routes.post(ROUTE)
    async def predict_layout(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"error": "request too large", "field": "body"}, status=413)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the request body is not valid JSON", "field": "body"}, status=400)
        try:
            layout = predict(**parse_request(body))
        except LayoutError as err:
            return web.json_response({"error": str(err), "field": err.field}, status=400)
        except Exception:  # the route must answer JSON whatever the predictor does
            logging.exception("SpaceTime: layout prediction failed")
            return web.json_response({"error": "layout prediction failed; see the server log", "field": "text"},
                                     status=500)
        return web.json_response({"layout": layout.to_dict(), "limits": LIMITS})
