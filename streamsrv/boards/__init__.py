"""Wallboards and agent standings: leaderboard scoring, stats events, displays."""
