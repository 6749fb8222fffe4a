"""The box editor's one server route: live layout prediction as the user types.

POST /spacetime/layout/predict {"text": str, "width": int, "height": int, "seed": int}
→ 200 {"layout": <layout dict>} or 400 {"error": str, "field": str}; never a traceback.
"""
from __future__ import annotations

import logging

from ..layout_model import LayoutError, predict
from ..layout_model.schema import MAX_TEXT_CHARS
from .layout_nodes import MAX_SIDE, MIN_SIDE

ROUTE = "/spacetime/layout/predict"
MAX_BODY_BYTES = 64 * 1024


class RequestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _int_field(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(name, f"{name} must be an integer")
    if not low <= value <= high:
        raise RequestError(name, f"{name} must be between {low} and {high}")
    return value


def parse_request(body: object) -> dict:
    """Checks types and limits of a prediction request; raises RequestError naming the field."""
    if not isinstance(body, dict):
        raise RequestError("body", "the request body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str):
        raise RequestError("text", "text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise RequestError("text", f"text is longer than {MAX_TEXT_CHARS} characters")
    return {
        "text": text,
        "width": _int_field(body, "width", 512, MIN_SIDE, MAX_SIDE),
        "height": _int_field(body, "height", 512, MIN_SIDE, MAX_SIDE),
        "seed": _int_field(body, "seed", 0, 0, 2**31 - 1),
    }


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
            args = parse_request(body)
            layout = predict(args["text"], width=args["width"], height=args["height"], seed=args["seed"])
        except RequestError as err:
            return web.json_response({"error": str(err), "field": err.field}, status=400)
        except LayoutError as err:
            return web.json_response({"error": str(err), "field": getattr(err, "field", "text")}, status=400)
        except Exception:  # the route must answer JSON whatever the predictor does
            logging.exception("SpaceTime: layout prediction failed")
            return web.json_response({"error": "layout prediction failed; see the server log", "field": "text"},
                                     status=500)
        return web.json_response({"layout": layout.to_dict()})
