"""The ``streamsrv demo`` command: a seeded demo organization, a live server and simulated traffic.

``seed`` builds the organization through the models, ``traffic`` keeps posting realistic
feedback through the public API, and ``runner`` ties them to an in-process server.
"""
