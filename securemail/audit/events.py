"""The audit log's vocabulary: every event the product records, as "area:object:action".

The only names `audit.record` accepts, so a typo fails at once instead of writing an entry
nobody will find, and an export can list (and describe) every kind of entry there is.
"""

from enum import StrEnum


class Event(StrEnum):
    # accounts: logging in, passwords, profiles
    LOGIN_SUCCEEDED = "accounts:login:succeeded"
    LOGIN_FAILED = "accounts:login:failed"
    USER_LOCKED = "accounts:user:locked"
    PASSWORD_LINK_REQUESTED = "accounts:password:link_requested"  # noqa: S105 (a name)
    PASSWORD_SET = "accounts:password:set"  # noqa: S105 (a name)
    PROFILE_UPDATED = "accounts:profile:update"
    # practices: what the user manager decides for the practice
    PHONE_VERIFICATION_POLICY = "practices:practice:phone_verification"
    # onboarding: invitations, the wizard and its codes
    INVITATION_CREATED = "onboarding:invitation:create"
    INVITATION_OPENED = "onboarding:invitation:open"
    INVITATION_FRESH_LINK = "onboarding:invitation:fresh_link"
    CODE_SENT = "onboarding:code:send"
    CODE_VERIFIED = "onboarding:code:verify"
    REGISTRATION_COMPLETED = "onboarding:registration:complete"
    # messaging: sending, reading and removing messages
    MESSAGE_SENT = "messaging:message:send"
    MESSAGE_REPLIED = "messaging:message:reply"
    MESSAGE_FORWARDED = "messaging:message:forward"
    MESSAGE_VIEWED = "messaging:message:view"
    MESSAGE_ARCHIVED = "messaging:message:archive"
    MESSAGE_UNARCHIVED = "messaging:message:unarchive"
    MESSAGE_HIDDEN = "messaging:message:hide"
    MESSAGE_DELETED = "messaging:message:delete"
    MESSAGE_EXPIRY_CHANGED = "messaging:message:expiry"
    MESSAGES_EXPIRED = "messaging:message:expire"
    ATTACHMENT_DOWNLOADED = "messaging:attachment:download"
