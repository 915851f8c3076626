"""The Convos protocol as pure code: invites, group appData, content types, profiles, join checks.

No I/O and no clock reads: callers pass ``now`` in. Submodules:

- :mod:`.invites` (with :mod:`.links`, :mod:`.token`, :mod:`.keys`, :mod:`.tags`): invite slugs;
- :mod:`.metadata`: the group's appData (``ConversationCustomMetadata``);
- :mod:`.content` and :mod:`.encoded`: ``EncodedContent`` and the ``convos.org/*`` types;
- :mod:`.profiles`: profile updates and snapshots, display names;
- :mod:`.join`: the creator's decision on a join request (the I/O around it is :mod:`openclaw_convos.joinflow`);
- :mod:`.errors`: the error classes.
"""

from __future__ import annotations

from .content import (
    DecodedContent,
    ExplodeSettings,
    InviteJoinError,
    InviteJoinErrorType,
    InviteJoinHandled,
    JoinRequest,
    JoinRequestProfile,
    Text,
    TypingIndicator,
    Unknown,
    decode_content,
    encode_content,
    encode_text,
    should_push,
)
from .encoded import ContentTypeId
from .invites import (
    InvitePayload,
    InviteSigner,
    SignedInvite,
    create_invite,
    decrypt_conversation_id,
    parse_invite,
    recover_signer,
    verify_invite,
)
from .join import (
    ConversationState,
    JoinAction,
    JoinDecision,
    VerifiedJoinRequest,
    add_members_failed,
    decide_join,
    evaluate_join_request,
    verify_join_request,
)
from .links import Env, extract_invite_code, invite_url
from .metadata import ConversationMetadata, decode_app_data, new_app_data, update_app_data
from .profiles import (
    MemberKind,
    MemberProfile,
    ProfileSnapshot,
    ProfileUpdate,
    resolve_display_names,
)
from .tags import is_valid_invite_tag, new_invite_tag

__all__ = [
    "ContentTypeId",
    "ConversationMetadata",
    "ConversationState",
    "DecodedContent",
    "Env",
    "ExplodeSettings",
    "InviteJoinError",
    "InviteJoinErrorType",
    "InviteJoinHandled",
    "InvitePayload",
    "InviteSigner",
    "JoinAction",
    "JoinDecision",
    "JoinRequest",
    "JoinRequestProfile",
    "MemberKind",
    "MemberProfile",
    "ProfileSnapshot",
    "ProfileUpdate",
    "SignedInvite",
    "Text",
    "TypingIndicator",
    "Unknown",
    "VerifiedJoinRequest",
    "add_members_failed",
    "create_invite",
    "decide_join",
    "decode_app_data",
    "decode_content",
    "decrypt_conversation_id",
    "encode_content",
    "encode_text",
    "evaluate_join_request",
    "extract_invite_code",
    "invite_url",
    "is_valid_invite_tag",
    "new_app_data",
    "new_invite_tag",
    "parse_invite",
    "recover_signer",
    "resolve_display_names",
    "should_push",
    "update_app_data",
    "verify_invite",
    "verify_join_request",
]
