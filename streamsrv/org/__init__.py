"""The organization's structure: client accounts, their teams and agents, users with their role
and scope, API keys and wallboard displays.

Each module holds the queries and commands of one resource; ``streamsrv.api`` adapts them to
HTTP. Every function takes the caller's ``Identity`` and stays inside its organization and scope.
"""
