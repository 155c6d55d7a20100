"""Survey request emails: SMTP targets, the suppression list, send times, rendering, the sender.

A request's email is a row of the delivery queue (kind ``email``, ref ``request:{id}``), written
in the transaction that records the interaction (``survey_email``) and sent by whichever node's
worker claims it (``sender``). The database stays the record of what was sent and why not.
"""
