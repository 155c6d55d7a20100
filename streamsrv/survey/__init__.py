"""Feedback collection: interactions, feedback requests, the survey and its responses."""
