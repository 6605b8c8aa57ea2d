"""Request bodies read as strict JSON (service.strict_json): NaN, Infinity, 1e400, a repeated key or
nesting deeper than any body the API takes is a 400 naming what was found, never a 500 or a silent choice."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from .. import strict_json


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = strict_json.loads(await self.body())
            except strict_json.JSONRefused as exc:
                raise HTTPException(400, detail=f"request body: {exc}") from None
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body FastAPI reads through StrictJSONRequest."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
