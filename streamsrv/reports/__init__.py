"""Scheduled reports: the daily digest to team leaders and the weekly summary to client viewers."""
