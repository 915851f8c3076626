"""The Convos join flow with I/O: the joiner (request, wait) and the creator (check, add, answer).

It sits above the pure protocol (:mod:`openclaw_convos.convos`) and the XMTP layer
(:mod:`openclaw_convos.xmtp`), which stay independent of each other's I/O.
"""
