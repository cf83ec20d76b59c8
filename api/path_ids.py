"""An id in a path is ASCII digits only (a minus sign allowed: the range check answers that).

Litestar reads an ``{x:int}`` path segment with Python's ``int()``, which also takes " 9", "9\\t", "+9", "0_9" and
"９" (a full-width digit) for 9: "/api/v1/stocktakes/9%20" answered stocktake 9 (found by schemathesis). Such a
path names nothing, so it is answered like "/api/v1/stocktakes/abc".
"""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request
from litestar.exceptions import NotFoundException

# ASCII digits, with a minus sign allowed: a negative or zero id goes on to the range check (a 422 on the field).
_PLAIN: Final = re.compile(r"-?[0-9]+")


async def refuse_loose_ids(request: Request[Any, Any, Any]) -> None:
    """Before a handler: 404 when a path segment read as an integer parameter is not plain ASCII digits."""
    template: str = request.scope.get("path_template") or ""
    params = request.path_params
    if not params:
        return
    for pattern, segment in zip(template.split("/"), request.scope["path"].split("/"), strict=False):
        name = pattern[1:-1].split(":")[0] if pattern.startswith("{") and pattern.endswith("}") else None
        if name is not None and type(params.get(name)) is int and not _PLAIN.fullmatch(segment):
            raise NotFoundException(detail=f"没有这个地址：路径中的编号只能是数字（{segment.strip()!r}）")
