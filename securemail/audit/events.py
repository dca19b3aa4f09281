"""The audit log's vocabulary: every event the product records, as "area:object:action",
each with the words an export shows for it.

The only names `audit.record` accepts, so a typo fails at once instead of writing an entry
nobody will find, and an export can list (and describe) every kind of entry there is.
"""

from django.db import models


class Event(models.TextChoices):
    # accounts: logging in, passwords, profiles
    LOGIN_SUCCEEDED = "accounts:login:succeeded", "Logged in"
    LOGIN_FAILED = "accounts:login:failed", "Wrong password at login"
    USER_LOCKED = "accounts:user:locked", "Account locked after wrong passwords"
    PASSWORD_LINK_REQUESTED = "accounts:password:link_requested", "Set-password link requested"
    PASSWORD_SET = "accounts:password:set", "Password set"
    PROFILE_UPDATED = "accounts:profile:update", "Profile changed"
    # practices: what the user manager decides for the practice
    PHONE_VERIFICATION_POLICY = (
        "practices:practice:phone_verification",
        "Practice's phone verification setting changed",
    )
    # onboarding: invitations, the wizard and its codes
    INVITATION_CREATED = "onboarding:invitation:create", "Invited"
    INVITATION_OPENED = "onboarding:invitation:open", "Registration started from the link"
    INVITATION_FRESH_LINK = "onboarding:invitation:fresh_link", "Fresh registration link sent"
    CODE_SENT = "onboarding:code:send", "Verification code sent"
    CODE_VERIFIED = "onboarding:code:verify", "Phone verified"
    REGISTRATION_COMPLETED = "onboarding:registration:complete", "Registration completed"
    # messaging: sending, reading and removing messages
    MESSAGE_SENT = "messaging:message:send", "Message sent"
    MESSAGE_REPLIED = "messaging:message:reply", "Reply sent"
    MESSAGE_FORWARDED = "messaging:message:forward", "Message forwarded"
    MESSAGE_VIEWED = "messaging:message:view", "Message opened"
    MESSAGE_ARCHIVED = "messaging:message:archive", "Message archived"
    MESSAGE_UNARCHIVED = "messaging:message:unarchive", "Message moved back to the inbox"
    MESSAGE_HIDDEN = "messaging:message:hide", "Message deleted from one mailbox"
    MESSAGE_DELETED = "messaging:message:delete", "Message deleted for everyone"
    MESSAGE_EXPIRY_CHANGED = "messaging:message:expiry", "Message expiry changed"
    MESSAGES_EXPIRED = "messaging:message:expire", "Expired messages deleted"
    ATTACHMENT_DOWNLOADED = "messaging:attachment:download", "Attachment downloaded"
    # billing: plans bought, renewed, failed, canceled
    PURCHASE_STARTED = "billing:plan:purchase", "Purchase started (card page opened)"
    PLAN_ACTIVATED = "billing:plan:activate", "Paid plan started"
    PLAN_RENEWED = "billing:plan:renew", "Paid plan renewed"
    PLAN_PAYMENT_FAILED = "billing:plan:payment_failed", "Payment failed: plan stopped"
    PLAN_CANCEL_REQUESTED = "billing:plan:cancel", "Plan set to end at the end of its period"
    PLAN_ENDED = "billing:plan:end", "Paid plan ended"
    CARD_UPDATE_STARTED = "billing:card:update", "Card update page opened"
    INVOICE_LIST_SENT = "billing:invoice:list_sent", "Invoice list emailed"
    # practices: the user manager
    INVITATION_RESENT = "practices:invitation:resend", "Invitation sent again by the user manager"
    INVITEE_EMAIL_CORRECTED = (
        "practices:invitee:correct_email",
        "Invitee's email address corrected by the user manager",
    )
    USER_UNLOCKED = "practices:user:unlock", "Account unlocked by the user manager"
    MANAGER_HANDED_OVER = "practices:manager:hand_over", "User manager role handed over"
    # ops: the operators' console
    OPERATOR_CREATED = "ops:operator:create", "Operator account created"
    OPERATOR_UNLOCKED_ACCOUNT = "ops:account:unlock", "Account unlocked by an operator"
    OPERATOR_RESENT_INVITATION = "ops:invitation:resend", "Invitation re-sent by an operator"
    OPERATOR_VIEWED_RECORD = "ops:record:view", "Record opened in the operators' console"
    # audit coverage (issue 9): the gaps an auditor found, and the log's own exports
    LOGGED_OUT = "accounts:session:logout", "Logged out"
    REGISTRATION_STEP_SAVED = "onboarding:registration:step", "Registration step completed"
    CODE_REJECTED = "onboarding:code:reject", "Wrong verification code entered"
    MESSAGE_EXPIRED = "messaging:message:expired", "Message expired and deleted"
    REPLY_DELETED_WITH_CONVERSATION = (
        "messaging:message:delete_with_conversation",
        "Reply deleted for everyone with its conversation",
    )
    KEY_ADDED = "ops:key:add", "Encryption key version added"
    KEYS_REWRAPPED = "ops:key:rewrap", "Data keys re-wrapped under the active key"
    KEY_RETIRED = "ops:key:retire", "Encryption key version retired"
    AUDIT_LOG_EXPORTED = "practices:audit:export", "Practice's audit log exported"
    DISCLOSURES_VIEWED = "practices:audit:disclosures", "Accounting of disclosures produced"
    # notifications (issue 9): an email or text given up for good, and who acted on it
    NOTIFICATION_NOT_DELIVERED = (
        "notifications:outbox:not_delivered",
        "Notification not delivered (retries used up)",
    )
    NOTIFICATION_BOUNCED = (
        "notifications:outbox:bounced",
        "Notification bounced (the address was refused)",
    )
    INVITATION_RESENT_BY_INVITER = (
        "practices:invitation:resend_by_inviter",
        "Invitation sent again by the person who sent it",
    )
    INVITEE_EMAIL_CORRECTED_BY_INVITER = (
        "practices:invitee:correct_email_by_inviter",
        "Invitee's email address corrected by the person who invited them",
    )
    # two-step login, passkeys and re-authentication (issue 10)
    LOGIN_PASSWORD_ACCEPTED = (
        "accounts:login:password_accepted",
        "Right password at login; second step asked",
    )
    SECOND_STEP_PASSED = "accounts:login:second_step", "Second step at login passed"
    SECOND_STEP_FAILED = "accounts:login:second_step_failed", "Wrong second step at login"
    PASSKEY_SIGN_IN = "accounts:login:passkey", "Logged in with a passkey"
    PASSKEY_REFUSED = "accounts:passkey:refused", "Passkey sign-in refused"
    PASSKEY_CLONE_SUSPECTED = (
        "accounts:passkey:clone_suspected",
        "Passkey refused: its counter went back (a cloned authenticator?)",
    )
    REAUTHENTICATED = "accounts:session:reauthenticate", "Confirmed identity for a sensitive action"
    REAUTHENTICATION_FAILED = (
        "accounts:session:reauthenticate_failed",
        "Wrong password or code when confirming identity",
    )
    TWO_STEP_ON = "accounts:two_step:on", "Two-step login turned on"
    TWO_STEP_OFF = "accounts:two_step:off", "Two-step login turned off"
    TWO_STEP_METHOD_ADDED = "accounts:two_step:method_add", "Two-step method added"
    TWO_STEP_METHOD_REMOVED = "accounts:two_step:method_remove", "Two-step method removed"
    TWO_STEP_METHOD_CHANGED = "accounts:two_step:method_change", "Two-step method changed"
    PASSKEY_ADDED = "accounts:passkey:add", "Passkey added"
    PASSKEY_REMOVED = "accounts:passkey:remove", "Passkey removed"
    RECOVERY_CODES_REGENERATED = (
        "accounts:recovery_codes:regenerate",
        "Recovery codes made (the old ones no longer work)",
    )
    RECOVERY_CODE_USED = "accounts:recovery_codes:use", "Recovery code used"
    TEXT_CODE_SENT = "accounts:code:send", "Code sent by text message"
    PASSWORD_CHANGED = "accounts:password:change", "Password changed"
    EMAIL_CHANGE_REQUESTED = "accounts:email:change_request", "Change of email address asked"
    EMAIL_CHANGED = "accounts:email:change", "Email address changed"
    PHONE_CHANGED = "accounts:phone:change", "Cell phone changed and verified"
    TWO_STEP_POLICY = (
        "practices:practice:two_step",
        "Practice's two-step login requirement changed",
    )
    # contacts (issue 11): a person's own address book (ids only, never a name or a note)
    CONTACT_ADDED = "contacts:contact:add", "Contact added"
    CONTACT_CHANGED = "contacts:contact:change", "Contact changed"
    CONTACT_DELETED = "contacts:contact:delete", "Contact deleted"
    CONTACT_RESTORED = "contacts:contact:restore", "Deleted contact restored"
    CONTACTS_PURGED = "contacts:contact:purge", "Deleted contacts past their restore time removed"
    # onboarding that follows up (issue 11): reminders until the invitee registers
    INVITATION_REMINDED = "onboarding:invitation:remind", "Invitation reminder sent"
    INVITATION_REMINDERS_STOPPED = (
        "onboarding:invitation:stop_reminders",
        "Invitation reminders stopped by the person who sent it",
    )
    # expiry that warns and exports (issue 11): ids only, never a subject or a file name
    CONVERSATION_EXPIRY_WARNED = (
        "messaging:conversation:expiry_warning",
        "Conversation's people warned of its deletion",
    )
    CONVERSATION_EXPORTED = "messaging:conversation:export_pdf", "Conversation exported as PDF"
