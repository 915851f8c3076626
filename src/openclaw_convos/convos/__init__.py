"""The Convos protocol as pure code: invites, group appData, content types, profiles, join checks.

No I/O and no clock reads: callers pass ``now`` in. See the submodules for each part.
"""
