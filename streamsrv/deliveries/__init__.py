"""Messages to the outside world (survey emails, chat posts, webhooks) and scheduled work.

Each message is a database row written with its cause (``queue.enqueue``), executed by the
worker that any node runs (``worker.Worker``), retried with backoff and kept with its attempts
and last error; scheduled jobs run once per slot across nodes (``schedule``).
"""
