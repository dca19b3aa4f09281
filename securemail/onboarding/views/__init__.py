"""Registration: the emailed link, the role's wizard, phone verification and finishing.

The link's page only shows; its POST binds this browser session to the invitation. The
wizard reads the invitation from the session and re-checks it on every request. Thin
views over onboarding.access and onboarding.services, one module per flow: links, wizard
(its steps, dispatched by `step`), verify.
"""

from securemail.onboarding.views.links import fresh_link, join, resend_link, terms
from securemail.onboarding.views.verify import send_code
from securemail.onboarding.views.wizard import done, procedures, resume, step

__all__ = [
    "done",
    "fresh_link",
    "join",
    "procedures",
    "resend_link",
    "resume",
    "send_code",
    "step",
    "terms",
]
