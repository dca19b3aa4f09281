from typing import Any

from django.http import HttpRequest

from securemail.core.limits import limits as product_limits


def limits(_request: HttpRequest) -> dict[str, Any]:
    """The product's limits, for the pages that state them ({{ limits.max_expiry_days }})."""
    return {"limits": product_limits()}
