"""What onboarding's reads and writes raise: problems the person can act on, each with the
message to show them (`str(error)`). Views catch them and choose the page and status."""


class OnboardingError(Exception):
    """A problem the person can fix; `str(error)` is the message to show them."""


class LinkInvalid(OnboardingError):
    """The one "no longer valid" answer: unknown, altered, expired and used links alike."""


class AlreadyRegistered(OnboardingError):
    """The invitation's wizard is finished (another tab, or the back button)."""


class TooManyRequests(OnboardingError):
    """A rate limit refused it (the page answers 429)."""


class CodeRefused(OnboardingError):
    """A typed verification code did not verify the phone (wrong, expired, out of tries,
    replaced, or too many checks): the message says what to do next."""


class CodeChecksLimited(CodeRefused, TooManyRequests):
    """Too many codes typed in a short time: refused without checking (the page answers
    429)."""


class InvitationClosed(OnboardingError):
    """Nothing to re-send: the invitee has finished registering and set a password."""
