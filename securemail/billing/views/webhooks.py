"""The processor's webhook: the raw body and its signature go to the service untouched."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from securemail.billing import services
from securemail.billing.errors import BadSignature, ProcessorUnavailable

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """200 once handled (or already handled); 400 for a bad signature (or a signed body
    that isn't an event); 503 when the state
    can't be read back from the processor (it sends the event again later)."""
    try:
        received = services.receive_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except BadSignature:
        logger.warning("billing: webhook with a bad signature refused")
        return JsonResponse({"error": "bad signature"}, status=400)
    except ProcessorUnavailable:
        return JsonResponse({"error": "try again later"}, status=503)
    return JsonResponse({"received": received.event_id, "handled": received.handled})
